/** The `wf` program in-process, with its output and exit code recorded instead of written. */
import type { CliIo } from "../io.js";
import { createProgram } from "../program.js";

export interface WfResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** An io that records; `result()` reads what was recorded so far. */
export function recordingIo(cwd: string): { io: CliIo; result(): WfResult } {
  const out: string[] = [];
  const err: string[] = [];
  let exitCode = 0;
  const io: CliIo = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    exit: (c) => (exitCode = c),
    cwd: () => cwd,
  };
  return { io, result: () => ({ stdout: out.join(""), stderr: err.join(""), exitCode }) };
}

export async function runWf(args: string[], cwd: string = process.cwd()): Promise<WfResult> {
  const { io, result } = recordingIo(cwd);
  await createProgram(io).parseAsync(["node", "wf", ...args]);
  return result();
}
