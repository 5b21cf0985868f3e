/**
 * How records sit in a run's log file: one record per line, `\n<crc32 as 8 hex digits> <JSON>\n`.
 *
 * Why this framing:
 * - A record is complete only once its closing newline is on disk, so a reader never takes a record that
 *   another process is still writing: an unterminated last line is left for the next read.
 * - The CRC over the JSON bytes rejects a line that was damaged (a torn write after power loss can leave
 *   a prefix followed by zeros, or a crash can leave half a record that a later record then terminates).
 *   JSON validation alone would not catch corruption in the middle of a string.
 * - Every record starts with its own newline, so a record written after a torn fragment always begins
 *   on a fresh line: the fragment becomes one bad line that is skipped, and no valid record is lost.
 *   The cost is one byte per record.
 * - Lines stay readable with `cat`/`jq` (after the 9-character prefix), which helps when debugging runs.
 */
import { crc32 } from "./crc32.js";

const NL = 0x0a;
const SPACE = 0x20;

export function encodeFrame(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), "utf8");
  const out = Buffer.allocUnsafe(json.length + 11);
  out[0] = NL;
  out.write(crc32(json).toString(16).padStart(8, "0"), 1, "latin1");
  out[9] = SPACE;
  json.copy(out, 10);
  out[out.length - 1] = NL;
  return out;
}

export interface DecodedFrames {
  values: unknown[];
  /** Bytes up to and including the last complete line; anything after it is an unterminated line. */
  consumed: number;
  /** Complete lines that failed validation (torn or damaged records), skipped. */
  corrupt: number;
}

export function decodeFrames(buf: Buffer): DecodedFrames {
  const values: unknown[] = [];
  let corrupt = 0;
  let start = 0;
  for (;;) {
    const end = buf.indexOf(NL, start);
    if (end < 0) break;
    if (end > start) {
      const value = decodeLine(buf, start, end);
      if (value === undefined) corrupt++;
      else values.push(value);
    }
    start = end + 1;
  }
  return { values, consumed: start, corrupt };
}

function decodeLine(buf: Buffer, start: number, end: number): unknown {
  if (end - start < 10 || buf[start + 8] !== SPACE) return undefined;
  const expected = Number.parseInt(buf.toString("latin1", start, start + 8), 16);
  if (!Number.isFinite(expected) || crc32(buf, start + 9, end) !== expected) return undefined;
  try {
    return JSON.parse(buf.toString("utf8", start + 9, end));
  } catch {
    return undefined;
  }
}
