/**
 * Source maps for workflow bundles running in `node:vm`.
 *
 * Node 20 does not apply source maps to `vm.Script` code, even with `process.setSourceMapsEnabled(true)`
 * (checked on 20.20: a `//# sourceMappingURL=data:…` comment in a vm.Script is ignored), and turning that flag on
 * would slow every error in the host process anyway. So we keep our own registry of bundle file name → map and
 * apply it in two places:
 * - `prepareStackTrace`, installed as the sandbox realm's `Error.prepareStackTrace`: V8 (through Node's
 *   per-realm hook) calls it once when an error's `stack` is first read, with structured call sites, so errors
 *   thrown by workflow code carry original positions without any string parsing;
 * - `mapStack`, for stack strings that were produced elsewhere (e.g. a realm without the hook).
 * Decoding mappings is done by `@jridgewell/trace-mapping` (correct VLQ decoding and segment search is exactly
 * what that library is for); it decodes lazily, so registering a map costs nothing until a stack is mapped.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { originalPositionFor, TraceMap } from "@jridgewell/trace-mapping";

interface Entry {
  raw: string | object;
  trace?: TraceMap | null;
}

const registry = new Map<string, Entry>();

/** Registers the source map of the bundle whose `vm.Script` was compiled with `filename`. */
export function registerSourceMap(filename: string, map: string | object): void {
  registry.set(filename, { raw: map });
}

export function unregisterSourceMap(filename: string): void {
  registry.delete(filename);
}

function traceMapFor(filename: string): TraceMap | null {
  const entry = registry.get(filename);
  if (!entry) return null;
  if (entry.trace === undefined) {
    try {
      // Relative `sources` resolve against the bundle's own path, so stacks show real file paths.
      entry.trace = new TraceMap(entry.raw as never, filename);
    } catch {
      entry.trace = null; // a broken map must never break error reporting
    }
  }
  return entry.trace;
}

/** `file:line:col` (line and column 1-based, as in stacks) → original `file:line:col`, or undefined. */
function mapLocation(file: string, line: number, column: number): string | undefined {
  const trace = traceMapFor(file);
  if (!trace) return undefined;
  const pos = originalPositionFor(trace, { line, column: Math.max(0, column - 1) });
  if (pos.source == null || pos.line == null) return undefined;
  return `${pos.source}:${pos.line}:${(pos.column ?? 0) + 1}`;
}

const FRAME_LOCATION = /(\(|at )([^()\s][^()]*?):(\d+):(\d+)(\)?)$/;

/** Maps every `at … (bundle.js:L:C)` frame of a stack string whose file has a registered source map. */
export function mapStack(stack: string): string {
  if (registry.size === 0 || typeof stack !== "string") return stack;
  return stack
    .split("\n")
    .map((line) => {
      const m = FRAME_LOCATION.exec(line);
      if (!m) return line;
      const mapped = mapLocation(m[2]!, Number(m[3]), Number(m[4]));
      if (!mapped) return line;
      return `${line.slice(0, m.index)}${m[1]}${mapped}${m[5]}`;
    })
    .join("\n");
}

interface CallSiteLike {
  getFileName(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  toString(): string;
}

const errorToString = Error.prototype.toString;

/**
 * A V8 `Error.prepareStackTrace` that formats exactly like the default (header + `    at <frame>` lines, using
 * V8's own CallSite#toString) but with bundle positions replaced by original ones.
 */
export function prepareStackTrace(error: unknown, frames: CallSiteLike[]): string {
  let header: string;
  try {
    header = errorToString.call(error);
  } catch {
    header = "<error>";
  }
  let out = header;
  for (const frame of frames) {
    let text = String(frame);
    const file = frame.getFileName();
    if (file && registry.has(file)) {
      const line = frame.getLineNumber();
      const column = frame.getColumnNumber();
      if (line != null && column != null) {
        const mapped = mapLocation(file, line, column);
        const original = `${file}:${line}:${column}`;
        const at = text.lastIndexOf(original);
        if (mapped && at >= 0) text = text.slice(0, at) + mapped + text.slice(at + original.length);
      }
    }
    out += `\n    at ${text}`;
  }
  return out;
}

const INLINE_MAP =
  /\/\/[#@] sourceMappingURL=data:application\/json(?:;charset=[\w-]+)?;base64,([A-Za-z0-9+/=]+)\s*$/;
const FILE_MAP = /\/\/[#@] sourceMappingURL=([^\s'"]+)\s*$/;

/**
 * The source map of a bundle: the explicit one, else an inline `data:` comment at its end, else a
 * `sourceMappingURL=<file>` next to an absolute `filename` (read once, at compile time).
 */
export function findSourceMap(
  code: string,
  filename: string,
  explicit?: string | object,
): string | object | undefined {
  if (explicit !== undefined) return explicit;
  // Only the last comment counts; slicing there avoids running the regexes over a multi-megabyte bundle.
  const at = Math.max(code.lastIndexOf("//# sourceMappingURL="), code.lastIndexOf("//@ sourceMappingURL="));
  if (at < 0) return undefined;
  const tail = code.slice(at);
  const inline = INLINE_MAP.exec(tail);
  if (inline) return Buffer.from(inline[1]!, "base64").toString("utf8");
  const file = FILE_MAP.exec(tail);
  if (file && !file[1]!.startsWith("data:") && isAbsolute(filename)) {
    try {
      return readFileSync(resolve(dirname(filename), file[1]!), "utf8");
    } catch {
      return undefined;
    }
  }
  return undefined;
}
