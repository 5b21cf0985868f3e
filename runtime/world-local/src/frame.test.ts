import { describe, expect, it } from "vitest";
import { decodeFrames, encodeFrame } from "./frame.js";

describe("frames", () => {
  it("round-trips values, including strings with newlines and non-ASCII text", () => {
    const a = { s: "line1\nline2", u: "é✓\u2028" };
    const b = [1, 2, 3];
    const buf = Buffer.concat([encodeFrame(a), encodeFrame(b)]);
    expect(decodeFrames(buf)).toEqual({ values: [a, b], consumed: buf.length, corrupt: 0 });
  });

  it("leaves an unterminated last record unconsumed", () => {
    const whole = encodeFrame({ x: 1 });
    const torn = encodeFrame({ y: 2 }).subarray(0, 7);
    const res = decodeFrames(Buffer.concat([whole, torn]));
    expect(res.values).toEqual([{ x: 1 }]);
    // The torn record's leading newline is consumed (a blank line); its body is not.
    expect(res.consumed).toBe(whole.length + 1);
  });

  it("skips a torn record that a later record terminated, keeping both neighbours", () => {
    const torn = encodeFrame({ lost: true }).subarray(0, 12);
    const buf = Buffer.concat([encodeFrame(1), torn, encodeFrame(2)]);
    const res = decodeFrames(buf);
    expect(res.values).toEqual([1, 2]);
    expect(res.corrupt).toBe(1);
    expect(res.consumed).toBe(buf.length);
  });

  it("rejects a line whose bytes were damaged", () => {
    const buf = encodeFrame({ v: "abcdef" });
    buf[buf.length - 4] = "X".charCodeAt(0);
    expect(decodeFrames(buf)).toMatchObject({ values: [], corrupt: 1 });
  });
});
