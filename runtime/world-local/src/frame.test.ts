import { describe, expect, it } from "vitest";
import { decodeFrames, encodeFrame } from "./frame.js";

const cat = (...parts: (Buffer | string)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p)));

describe("frames", () => {
  it("round-trips values, including strings with newlines and non-ASCII text", () => {
    const a = { s: "line1\nline2", u: "é✓\u2028" };
    const b = [1, 2, 3];
    const buf = cat(encodeFrame(a), encodeFrame(b));
    expect(decodeFrames(buf)).toMatchObject({
      values: [a, b],
      consumed: buf.length,
      torn: 0,
      damaged: [],
    });
  });

  it("leaves an unterminated last record unconsumed", () => {
    const whole = encodeFrame({ x: 1 });
    const torn = encodeFrame({ y: 2 }).subarray(0, 7);
    const res = decodeFrames(cat(whole, torn));
    expect(res.values).toEqual([{ x: 1 }]);
    // The torn record's leading newline is consumed (a blank line); its body is not.
    expect(res.consumed).toBe(whole.length + 1);
  });

  it("never decodes half of a multi-byte character: a record cut inside one waits for the rest", () => {
    const frame = encodeFrame("é€😀");
    const cut = frame.indexOf(Buffer.from("€")) + 1; // inside the 3-byte sequence
    expect(decodeFrames(frame.subarray(0, cut)).values).toEqual([]);
    expect(decodeFrames(frame).values).toEqual(["é€😀"]);
  });

  it("skips a torn record that a later record terminated, keeping both neighbours", () => {
    const torn = encodeFrame({ lost: true }).subarray(0, 12);
    const buf = cat(encodeFrame(1), torn, encodeFrame(2));
    const res = decodeFrames(buf);
    expect(res.values).toEqual([1, 2]);
    expect(res).toMatchObject({ torn: 1, damaged: [] });
    expect(res.consumed).toBe(buf.length);
  });

  it("tells a damaged record (followed by the blank line of the next record) from a torn one", () => {
    const first = encodeFrame({ a: 1 });
    const middle = encodeFrame({ b: "some text" });
    // Damage the JSON structure, so that the body does not parse either.
    middle[middle.indexOf(Buffer.from("}"))] = "]".charCodeAt(0);
    const buf = cat(first, middle, encodeFrame({ c: 3 }));
    const res = decodeFrames(buf);
    expect(res.damaged).toEqual([first.length + 1]);
    expect(res.torn).toBe(0);
    expect(res.values).toEqual([{ a: 1 }, { c: 3 }]);
  });

  it("takes a bad line holding NUL bytes for a torn write (what a power loss leaves), wherever it is", () => {
    const zeroed = encodeFrame({ b: "x".repeat(40) });
    zeroed.fill(0, 15, 30);
    const res = decodeFrames(cat(encodeFrame(1), zeroed, encodeFrame(2)));
    expect(res).toMatchObject({ values: [1, 2], torn: 1, damaged: [] });
  });

  it("at the end of the bytes, a bad line is damaged when its body is complete JSON, else undecided", () => {
    const flipped = encodeFrame({ v: "abcdef" });
    flipped[flipped.length - 4] = "X".charCodeAt(0); // inside the string: still parses, CRC fails
    expect(decodeFrames(flipped)).toMatchObject({ values: [], damaged: [1], consumed: flipped.length });

    // A fragment terminated by the first byte of the next record, whose rest is not visible yet.
    const fragment = cat(encodeFrame({ torn: true }).subarray(0, 14), "\n");
    const undecided = decodeFrames(cat(encodeFrame(1), fragment));
    expect(undecided).toMatchObject({ values: [1], torn: 0, damaged: [] });
    expect(undecided.consumed).toBe(encodeFrame(1).length + 1);
    // Once the next record is there, the fragment is torn and the record counts.
    const later = decodeFrames(cat(encodeFrame(1), fragment, encodeFrame(2).subarray(1)));
    expect(later).toMatchObject({ values: [1, 2], torn: 1, damaged: [] });
  });
});
