import { describe, expect, it } from "vitest";
import { asLogRecord, type EventRecord, type LeaseRecord, leaseAllows, nextLease } from "./records.js";

const take = (o: string, k: number, t: number, x = t + 100): LeaseRecord => ({
  n: "n",
  L: "take",
  o,
  k,
  t,
  x,
});

describe("lease records", () => {
  it("a take counts on a free lease only with the next token", () => {
    expect(nextLease(undefined, take("A", 1, 0))).toEqual({
      owner: "A",
      token: 1,
      expiresAt: 100,
      released: false,
    });
    expect(nextLease(undefined, take("A", 2, 0))).toBeUndefined();
  });

  it("a take of a held lease counts only once it has expired at the writer's clock", () => {
    const cur = nextLease(undefined, take("A", 1, 0))!;
    expect(nextLease(cur, take("B", 2, 99))).toBeUndefined();
    expect(nextLease(cur, take("B", 2, 100))).toMatchObject({ owner: "B", token: 2 });
    // Two takers that both saw token 1: whichever record comes second loses.
    const afterB = nextLease(cur, take("B", 2, 100))!;
    expect(nextLease(afterB, take("C", 2, 100))).toBeUndefined();
  });

  it("renew and release count only for the current holder and token", () => {
    const cur = nextLease(undefined, take("A", 1, 0))!;
    const renew: LeaseRecord = { n: "n", L: "renew", o: "A", k: 1, t: 50, x: 500 };
    expect(nextLease(cur, renew)).toMatchObject({ expiresAt: 500, released: false });
    expect(nextLease(cur, { ...renew, o: "B" })).toBeUndefined();
    expect(nextLease(cur, { ...renew, k: 2 })).toBeUndefined();
    const released = nextLease(cur, { ...renew, L: "release" })!;
    expect(released.released).toBe(true);
    expect(nextLease(released, renew)).toBeUndefined();
    expect(nextLease(released, take("B", 2, 60))).toMatchObject({ owner: "B", token: 2 });
  });

  it("event records written under a lease count only while it is current", () => {
    const rec: EventRecord = { n: "n", s: 2, e: [{ type: "run_started", createdAt: 1 }], lo: "A", lt: 1 };
    const cur = nextLease(undefined, take("A", 1, 0))!;
    expect(leaseAllows(cur, rec)).toBe(true);
    expect(leaseAllows({ ...cur, token: 2 }, rec)).toBe(false);
    expect(leaseAllows({ ...cur, released: true }, rec)).toBe(false);
    expect(leaseAllows(undefined, rec)).toBe(false);
    expect(leaseAllows(undefined, { ...rec, lo: undefined, lt: undefined })).toBe(true);
  });
});

describe("asLogRecord", () => {
  it("accepts well-formed records and rejects anything else", () => {
    expect(asLogRecord({ n: "x", s: 1, e: [{ type: "run_created", createdAt: 1 }] })).toBeDefined();
    expect(asLogRecord({ n: "x", L: "take", o: "A", k: 1, x: 2, t: 1 })).toBeDefined();
    const delivered = { type: "hook_received", correlationId: "h", data: { payload: "1" } };
    expect(asLogRecord({ n: "x", d: "d1", e: delivered, t: 1 })).toBeDefined();
    expect(
      asLogRecord({ n: "x", d: "d1", e: { ...delivered, type: "run_cancelled" }, t: 1 }),
    ).toBeUndefined();
    expect(asLogRecord({ n: "x", d: "d1", e: { ...delivered, data: {} }, t: 1 })).toBeUndefined();
    expect(asLogRecord({ n: "x", s: 1, e: [] })).toBeUndefined();
    expect(asLogRecord({ n: "x", s: 1, e: [{ type: "run_created" }] })).toBeUndefined();
    expect(asLogRecord({ n: "x", L: "steal", o: "A", k: 1, x: 2, t: 1 })).toBeUndefined();
    expect(asLogRecord([1, 2])).toBeUndefined();
    expect(asLogRecord(null)).toBeUndefined();
  });
});
