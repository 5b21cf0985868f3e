import { AppendConflictError } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it("reads milliseconds and unit strings", () => {
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("10m")).toBe(600_000);
    expect(parseDuration("3d")).toBe(259_200_000);
    expect(parseDuration("2 hours")).toBe(7_200_000);
  });
  it("reads every unit of the `ms` strings WDK's sleep() takes, years and milliseconds included", () => {
    expect(parseDuration("7 days")).toBe(604_800_000);
    expect(parseDuration("1y")).toBe(31_557_600_000);
    expect(parseDuration("2 years")).toBe(63_115_200_000);
    expect(parseDuration("1 yr")).toBe(31_557_600_000);
    expect(parseDuration("250 milliseconds")).toBe(250);
    expect(parseDuration("5 msecs")).toBe(5);
    expect(parseDuration("1 Week")).toBe(604_800_000);
  });
  it("names the caller and the accepted forms on bad input", () => {
    expect(() => parseDuration("soon", "sleep()")).toThrow(
      /sleep\(\): "soon" is not a valid duration; use milliseconds/,
    );
    expect(() => parseDuration(-1)).toThrow(/non-negative/);
  });
  it("sees world errors through the source condition", () => {
    expect(new AppendConflictError("r", 1, 2).code).toBe("APPEND_CONFLICT");
  });
});
