/**
 * Simulated serverless function instances: every callback runs in a new Node process that is killed with
 * SIGKILL when its `maxDurationMs` is up, as a platform ends a function at its `maxDuration`. Nothing is shared
 * between invocations but the database and the queue.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Deliver } from "./queue-service.js";

export interface FreshProcessOptions {
  /**
   * The function's entry module, exporting a handler per HTTP method (`POST(request)`, `GET(request)`), e.g.
   * `.vercel/output/functions/…/index.mjs`.
   */
  entry: string;
  /** The hard limit of one invocation: the process is killed then. */
  maxDurationMs: number;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Each invocation's process as it starts (tests kill one mid-invocation). */
  onSpawn?: (child: ChildProcess, invocation: number) => void;
  /** The process's stdout and stderr (default: discarded). */
  onOutput?: (text: string, invocation: number) => void;
}

// Beside this module once built; from the sources (tests resolving the "source" condition), the built copy.
const CHILD = [
  new URL("./invoke-child.js", import.meta.url),
  new URL("../../dist/testing/invoke-child.js", import.meta.url),
]
  .map((u) => fileURLToPath(u))
  .find((file) => existsSync(file))!;

export function freshProcessInvoker(opts: FreshProcessOptions): Deliver {
  let count = 0;
  return async (request) => {
    const invocation = ++count;
    const body = Buffer.from(await request.arrayBuffer()).toString("base64");
    const child = spawn(process.execPath, [CHILD, opts.entry], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env } as NodeJS.ProcessEnv,
      stdio: ["pipe", "pipe", "pipe", "pipe"],
    });
    opts.onSpawn?.(child, invocation);
    const output = (chunk: Buffer) => opts.onOutput?.(chunk.toString("utf8"), invocation);
    child.stdout!.on("data", output);
    child.stderr!.on("data", output);
    const answer: Buffer[] = [];
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (chunk: Buffer) => answer.push(chunk));
    child.stdin!.end(
      JSON.stringify({ method: request.method, url: request.url, headers: [...request.headers], body }),
    );
    const killer = setTimeout(() => child.kill("SIGKILL"), opts.maxDurationMs);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    clearTimeout(killer);
    const text = Buffer.concat(answer).toString("utf8");
    if (!text) {
      throw new Error(
        `invocation ${invocation} ended without answering (${exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`})`,
      );
    }
    const wire = JSON.parse(text) as { status: number; headers: [string, string][]; body: string };
    return new Response(wire.status === 204 ? null : Buffer.from(wire.body, "base64"), {
      status: wire.status,
      headers: wire.headers,
    });
  };
}
