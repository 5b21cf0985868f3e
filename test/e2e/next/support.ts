/**
 * Drives `examples/next-app` with the real `next` CLI: a copy in `test/e2e/.tmp/` (inside the repo, so
 * dependencies resolve from the workspace) with the workspace packages vendored into its node_modules (see
 * the example's scripts/vendor-workspace.mjs), then `next build` / `next start` / `next dev` as child
 * processes on free ports, talked to over HTTP.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { subscribeRun } from "workflow/client";
import { freePort } from "../support/process.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const exampleDir = path.resolve(here, "../../../examples/next-app");
const tmpRoot = path.resolve(here, "../.tmp");
/** Build output and data of a human's run in the example folder are not part of the copy. */
const NOT_COPIED = new Set([
  "node_modules",
  ".next",
  ".workflow",
  ".workflow-data",
  ".well-known",
  "next-env.d.ts",
]);

export interface NextApp {
  dir: string;
  file(relative: string): string;
  cleanup(): void;
}

export function copyNextApp(): NextApp {
  const dir = path.join(tmpRoot, `next-app-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(tmpRoot, { recursive: true });
  cpSync(exampleDir, dir, { recursive: true, filter: (src) => !NOT_COPIED.has(path.basename(src)) });
  execFileSync(process.execPath, ["scripts/vendor-workspace.mjs"], { cwd: dir, stdio: "pipe" });
  return {
    dir,
    file: (relative) => path.join(dir, relative),
    // A server that just stopped may still be flushing its caches: retry for a moment.
    cleanup: () => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }),
  };
}

/** Only what the app needs: the integration picks the data folder and base URL itself. */
function nextEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: "",
    NO_COLOR: "1",
    NEXT_TELEMETRY_DISABLED: "1",
    WORKFLOW_TARGET_WORLD: "local",
  };
  for (const key of [
    "WORKFLOW_LOCAL_DATA_DIR",
    "WORKFLOW_BASE_URL",
    "WORKFLOW_NEXT_BUILT",
    "NODE_ENV",
    "PORT",
  ])
    delete env[key];
  return env;
}

function nextBin(app: NextApp): string {
  return createRequire(app.file("package.json")).resolve("next/dist/bin/next");
}

/** `next <args>` to completion; rejects with its output when it fails. */
export function runNext(app: NextApp, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [nextBin(app), ...args], {
      cwd: app.dir,
      env: nextEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.on("close", (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`next ${args.join(" ")} exited with ${code}:\n${output}`)),
    );
  });
}

export interface NextServer {
  base: string;
  output(): string;
  stop(): Promise<void>;
}

/** `next start` or `next dev` on a free port; resolves once it says it is ready. */
export async function serveNext(
  app: NextApp,
  command: "start" | "dev",
  timeoutMs = 60_000,
  extraEnv: Record<string, string> = {},
): Promise<NextServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [nextBin(app), command, "-p", String(port), "-H", "127.0.0.1"],
    { cwd: app.dir, env: { ...nextEnv(), ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (output += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (output += c));
  const server: NextServer = {
    base: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return closed;
      // Next shuts down gracefully: it waits for open connections (a live event stream) to end.
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await closed;
      clearTimeout(timer);
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`next ${command} was not ready in time:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      if (/Ready in/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", check);
    void closed.then(() => {
      clearTimeout(timer);
      reject(new Error(`next ${command} exited:\n${output}`));
    });
  });
  return server;
}

export interface SseEvent {
  event: string;
  data: any;
}

/**
 * Follows a run the way the page does (`subscribeRun` of `workflow/client`, over the app's Durable Streams
 * endpoint): a `progress` event per output line, then `done` with the return value (or `failed`).
 * `next(predicate)` resolves with the first event that matches, `all()` with every event once the run has ended.
 */
export function followRun(
  base: string,
  runId: string,
  token: string,
): {
  next(match: (e: SseEvent) => boolean): Promise<SseEvent>;
  all(): Promise<SseEvent[]>;
  /** Stops reading. */
  cancel(): Promise<void>;
} {
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  let seen = 0;
  const subscription = subscribeRun(
    runId,
    { baseUrl: `${base}/.well-known/workflow/v1`, token, persist: false },
    (snapshot) => {
      for (; seen < snapshot.output.length; seen++)
        events.push({ event: "progress", data: snapshot.output[seen] });
      if (!ended && snapshot.status === "completed" && snapshot.outputClosed) {
        events.push({ event: "done", data: snapshot.returnValue });
        ended = true;
      } else if (!ended && (snapshot.status === "failed" || snapshot.status === "cancelled")) {
        events.push({ event: "failed", data: snapshot.error ?? { message: snapshot.status } });
        ended = true;
      }
      if (ended) subscription?.unsubscribe();
      for (const w of [...waiters]) w();
    },
  );
  return {
    next(match) {
      return new Promise((resolve) => {
        const check = () => {
          const found = events.find(match);
          if (found) {
            waiters.delete(check);
            resolve(found);
          }
        };
        waiters.add(check);
        check();
      });
    },
    all() {
      return new Promise((resolve) => {
        const check = () => {
          if (!ended) return;
          waiters.delete(check);
          resolve(events);
        };
        waiters.add(check);
        check();
      });
    },
    async cancel() {
      subscription.unsubscribe();
    },
  };
}
