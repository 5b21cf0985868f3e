import { describe, expect, it } from "vitest";
import { FatalError, RetryableError } from "../sandbox/errors.js";
import { backoffDelay, decideRetry, maxRetriesOf } from "./retry-policy.js";

const noJitter = { baseMs: 1000, maxMs: 60_000, random: () => 0.5 };

describe("retry policy", () => {
  it("doubles from 1 s and caps at 1 min", () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, noJitter))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelay(10, noJitter)).toBe(60_000);
  });

  it("jitters within ±25 %", () => {
    expect(backoffDelay(1, { ...noJitter, random: () => 0 })).toBe(750);
    expect(backoffDelay(1, { ...noJitter, random: () => 0.999 })).toBe(1250);
  });

  it("retries up to maxRetries after the first attempt", () => {
    expect(decideRetry(new Error("x"), 3, 3, 0, noJitter)).toEqual({ retry: true, retryAt: 4000 });
    expect(decideRetry(new Error("x"), 4, 3, 0, noJitter)).toEqual({ retry: false });
  });

  it("never retries a FatalError and honours RetryableError.retryAfter", () => {
    expect(decideRetry(new FatalError("no"), 1, 3, 0, noJitter)).toEqual({ retry: false });
    const at = new Date(Date.now() + 5000);
    expect(decideRetry(new RetryableError("later", { retryAfter: at }), 1, 3, 0, noJitter)).toEqual({
      retry: true,
      retryAt: at.getTime(),
    });
  });

  it("reads maxRetries from the step function, defaulting to 3", () => {
    expect(maxRetriesOf(Object.assign(() => {}, { maxRetries: 0 }))).toBe(0);
    expect(maxRetriesOf(Object.assign(() => {}, { maxRetries: 7 }))).toBe(7);
    expect(maxRetriesOf(() => {})).toBe(3);
    expect(maxRetriesOf(Object.assign(() => {}, { maxRetries: -1 }))).toBe(3);
  });
});
