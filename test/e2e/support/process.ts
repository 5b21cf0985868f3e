/**
 * Runs real Node processes with `--import workflow/register` in a throw-away copy of a test project, so
 * each test has its own project root and local-world data directory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const tmpRoot = path.resolve(here, "..", ".tmp");

export interface Project {
  dir: string;
  dataDir: string;
  file(relative: string): string;
  cleanup(): void;
}

/** Copies `test/e2e/projects/<name>` into `test/e2e/.tmp/` (inside the repo, so `workflow` resolves). */
export function copyProject(name: string): Project {
  return copyIntoTmp(path.resolve(here, "..", "projects", name), name);
}

/** Copies any folder into a fresh `test/e2e/.tmp/<label>-…` folder that `cleanup()` removes. */
export function copyIntoTmp(source: string, label: string): Project {
  const dir = path.join(tmpRoot, `${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(tmpRoot, { recursive: true });
  cpSync(source, dir, { recursive: true });
  const dataDir = path.join(dir, ".workflow-data");
  return {
    dir,
    dataDir,
    file: (relative) => path.join(dir, relative),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface NodeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnedNode {
  child: ChildProcess;
  /** Resolves with the first stdout line matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  done: Promise<NodeResult>;
}

export interface SpawnOptions {
  /** Load `workflow/register` (default true); false for an app a bundler already compiled, or a CLI. */
  register?: boolean;
}

export function spawnNode(
  project: Project,
  args: string[],
  env: Record<string, string> = {},
  opts: SpawnOptions = {},
): SpawnedNode {
  const register = opts.register === false ? [] : ["--import", "workflow/register"];
  const child = spawn(process.execPath, [...register, ...args], {
    cwd: project.dir,
    env: { ...process.env, WORKFLOW_LOCAL_DATA_DIR: project.dataDir, WORKFLOW_TARGET_WORLD: "local", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const watchers: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const w of [...watchers]) {
      const line = stdout.split("\n").find((l) => w.pattern.test(l));
      if (line !== undefined) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<NodeResult>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    done,
    waitForLine(pattern, timeoutMs = 20_000) {
      const existing = stdout.split("\n").find((l) => pattern.test(l));
      if (existing !== undefined) return Promise.resolve(existing);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `no stdout line matched ${pattern} within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
            ),
          );
        }, timeoutMs);
        watchers.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void done.then(() => {
          clearTimeout(timer);
          reject(
            new Error(
              `process exited before a line matched ${pattern}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
            ),
          );
        });
      });
    },
  };
}

/** Runs to completion; fails with the process output when it exits non-zero (unless `allowFailure`). */
export async function runNode(
  project: Project,
  args: string[],
  opts: { env?: Record<string, string>; allowFailure?: boolean } & SpawnOptions = {},
): Promise<NodeResult> {
  const result = await spawnNode(project, args, opts.env, opts).done;
  if (result.code !== 0 && !opts.allowFailure) {
    throw new Error(
      `node ${args.join(" ")} exited with ${result.code ?? result.signal}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return result;
}

/** The JSON printed on the last stdout line that starts with `RESULT `; fails with the output when there is none. */
export function resultOf(result: { code: number | null; stdout: string; stderr: string }): any {
  const line = result.stdout
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("RESULT "));
  if (!line)
    throw new Error(
      `no RESULT line (exit ${result.code})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  return JSON.parse(line.slice("RESULT ".length));
}

/** A TCP port free on 127.0.0.1 right now, for a server that must be told its port up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
