import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor, pageSize } from "./cursor.js";

describe("cursors and page sizes", () => {
  it("round-trips a cursor and refuses anything else with INVALID_CURSOR", () => {
    const key = { createdAt: 1_700_000_000_123, runId: "wrun_X" };
    expect(decodeCursor(encodeCursor(key))).toEqual(key);
    expect(() => decodeCursor("garbage")).toThrow(expect.objectContaining({ code: "INVALID_CURSOR" }));
    const wrongShape = Buffer.from(JSON.stringify({ a: 1 })).toString("base64url");
    expect(() => decodeCursor(wrongShape)).toThrow(expect.objectContaining({ code: "INVALID_CURSOR" }));
  });

  it("defaults, caps and validates page sizes", () => {
    expect(pageSize(undefined)).toBe(50);
    expect(pageSize(5_000)).toBe(1000);
    expect(() => pageSize(0)).toThrow(expect.objectContaining({ code: "INVALID_QUERY" }));
    expect(() => pageSize(1.5)).toThrow(expect.objectContaining({ code: "INVALID_QUERY" }));
  });
});
