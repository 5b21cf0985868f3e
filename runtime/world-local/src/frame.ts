/**
 * How records sit in the local world's files (run logs and stream files): one record per line,
 * `\n<crc32 as 8 hex digits> <JSON>\n`.
 *
 * Why this framing:
 * - A record is complete only once its closing newline is on disk, so a reader never takes a record that
 *   another process is still writing: an unterminated last line is left for the next read. Lines are
 *   decoded from bytes only once complete, so a multi-byte UTF-8 character cut by a read is never decoded.
 * - The CRC over the JSON bytes rejects a line that was damaged (a torn write after power loss can leave
 *   a prefix followed by zeros, or a crash can leave half a record that a later record then terminates).
 *   JSON validation alone would not catch corruption in the middle of a string.
 * - Every record starts with its own newline, so a record written after a torn fragment always begins
 *   on a fresh line: the fragment becomes one bad line that is skipped, and no valid record is lost.
 *   The cost is one byte per record.
 * - Lines stay readable with `cat`/`jq` (after the 9-character prefix), which helps when debugging runs.
 *
 * A line that fails its check is either torn (a write that a crash, a full disk or a power loss cut short:
 * nothing it held was ever acknowledged) or damaged (a complete record whose bytes changed afterwards).
 * The framing tells them apart:
 * - a line that is a whole valid record plus one byte before or after it is damaged: a newline around a
 *   complete record was changed (a torn write is a prefix of a record, never a whole one);
 * - a line holding a NUL byte is torn: it is what a power loss leaves where blocks never reached the disk
 *   (JSON text never holds a raw NUL);
 * - a fragment is terminated by the leading newline of the record written after it, so a torn line is
 *   directly followed by that record's line; a complete record is followed by the blank line that starts
 *   the next record (`\n\n`). A bad line followed by a blank line is therefore damaged;
 * - a bad line that ends the bytes read is damaged when its body is complete JSON (no prefix of a record
 *   is), and undecided otherwise: it is left unconsumed until the bytes after it say which it is.
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
  /** Offset in the buffer where each value's line starts, and just after its newline (parallel to `values`). */
  starts: number[];
  ends: number[];
  /**
   * Bytes up to and including the last complete line that was decided; anything after it is an
   * unterminated line, or a bad line whose kind the bytes after it will decide.
   */
  consumed: number;
  /** Lines skipped as torn writes. */
  torn: number;
  /** Offsets of lines that are damaged records (see the module comment), in order. */
  damaged: number[];
}

export function decodeFrames(buf: Buffer): DecodedFrames {
  const out: DecodedFrames = { values: [], starts: [], ends: [], consumed: 0, torn: 0, damaged: [] };
  let start = 0;
  for (;;) {
    const end = buf.indexOf(NL, start);
    if (end < 0) break;
    if (end > start) {
      const line = decodeLine(buf, start, end);
      if (line.ok) {
        out.values.push(line.value);
        out.starts.push(start);
        out.ends.push(end + 1);
      } else {
        const kind = classifyBadLine(buf, start, end, line.parses);
        if (kind === "undecided") break;
        if (kind === "torn") out.torn++;
        else out.damaged.push(start);
      }
    }
    start = end + 1;
  }
  out.consumed = start;
  return out;
}

type Line = { ok: true; value: unknown } | { ok: false; parses: boolean };

function checksumOk(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 10 || buf[start + 8] !== SPACE) return false;
  const expected = Number.parseInt(buf.toString("latin1", start, start + 8), 16);
  return Number.isFinite(expected) && crc32(buf, start + 9, end) === expected;
}

function decodeLine(buf: Buffer, start: number, end: number): Line {
  const framed = end - start >= 10 && buf[start + 8] === SPACE;
  const crcOk = checksumOk(buf, start, end);
  const body = framed ? start + 9 : start;
  let value: unknown;
  try {
    value = JSON.parse(buf.toString("utf8", body, end));
  } catch {
    return { ok: false, parses: false };
  }
  return crcOk ? { ok: true, value } : { ok: false, parses: true };
}

function classifyBadLine(
  buf: Buffer,
  start: number,
  end: number,
  parses: boolean,
): "torn" | "damaged" | "undecided" {
  if (checksumOk(buf, start + 1, end) || checksumOk(buf, start, end - 1)) return "damaged";
  if (buf.subarray(start, end).includes(0)) return "torn";
  if (end + 1 < buf.length) return buf[end + 1] === NL ? "damaged" : "torn";
  return parses ? "damaged" : "undecided";
}
