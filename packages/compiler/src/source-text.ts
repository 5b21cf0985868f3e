import type { SourceLocation } from "./types.js";

/**
 * swc reports spans as 1-based UTF-8 byte offsets; magic-string and our diagnostics need UTF-16 string
 * indices. For pure-ASCII sources (the common case) the two agree and no table is built.
 */
export class SourceText {
  private byteToIndex: Uint32Array | null = null;
  private lineStarts: number[] | null = null;
  readonly ascii: boolean;
  /** swc does not count a leading byte-order mark in its offsets; we skip it the same way. */
  private readonly bom: number;

  constructor(readonly text: string) {
    this.bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
    this.ascii = Buffer.byteLength(text, "utf8") === text.length;
  }

  /** String index of an swc span position. */
  index(swcPos: number): number {
    const byte = swcPos - 1;
    if (this.ascii) return byte;
    this.byteToIndex ??= buildByteTable(this.bom ? this.text.slice(this.bom) : this.text);
    return this.byteToIndex[Math.min(byte, this.byteToIndex.length - 1)]! + this.bom;
  }

  location(index: number): SourceLocation {
    this.lineStarts ??= buildLineStarts(this.text);
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: index - starts[lo]! };
  }
}

function buildByteTable(text: string): Uint32Array {
  const table = new Uint32Array(Buffer.byteLength(text, "utf8") + 1);
  let byte = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    let width: number;
    if (code < 0x80) width = 1;
    else if (code < 0x800) width = 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one 4-byte code point spanning two string indices.
      for (let k = 0; k < 4; k++) table[byte + k] = i;
      byte += 4;
      i++;
      continue;
    } else width = 3;
    for (let k = 0; k < width; k++) table[byte + k] = i;
    byte += width;
  }
  table[byte] = text.length;
  return table;
}

function buildLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}
