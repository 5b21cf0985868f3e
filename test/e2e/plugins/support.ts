/**
 * Fixture apps for the bundler plugin tests: each test copies one into `test/e2e/.tmp/` (inside the repo,
 * so `workflow` resolves from the workspace), builds it in-process and runs the output with plain `node`.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { copyIntoTmp, type Project, resultOf } from "../support/process.js";

const here = path.dirname(fileURLToPath(import.meta.url));

export type Fixture = Project;

/** Copies `test/e2e/plugins/fixtures/<name>` into `test/e2e/.tmp/`. */
export function copyFixture(name: string): Fixture {
  return copyIntoTmp(path.join(here, "fixtures", name), `plugins-${name}`);
}

export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node <file>` with no flags at all, on the local world in the fixture's own data folder. */
export function runPlainNode(fixture: Fixture, file: string, timeoutMs = 30_000): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      cwd: fixture.dir,
      env: {
        ...process.env,
        NODE_OPTIONS: "",
        // Tools colour their output when CI is set (picocolors reads it); lines are matched as plain text.
        NO_COLOR: "1",
        WORKFLOW_TARGET_WORLD: "local",
        WORKFLOW_LOCAL_DATA_DIR: fixture.dataDir,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`node ${file} did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`),
      );
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON of the last `RESULT ` line (shared with the register tests). */
export const lastResult: (run: NodeRun) => unknown = resultOf;

export interface NodeServer {
  /** Resolves with the first stdout line matching `pattern`; rejects with the output if the process exits. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

/** A long-running `node <file> [...args]` (a server) with the same environment as `runPlainNode`. */
export function startPlainNode(
  fixture: Fixture,
  command: string | string[],
  env: Record<string, string> = {},
): NodeServer {
  const child = spawn(process.execPath, Array.isArray(command) ? command : [command], {
    cwd: fixture.dir,
    env: {
      ...process.env,
      NODE_OPTIONS: "",
      WORKFLOW_TARGET_WORLD: "local",
      WORKFLOW_LOCAL_DATA_DIR: fixture.dataDir,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let exited = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
    notify();
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  const closed = new Promise<void>((resolve) =>
    child.on("close", () => {
      exited = true;
      notify();
      resolve();
    }),
  );
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  return {
    output,
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = stdout
            .split("\n")
            .map(stripAnsi)
            .find((l) => pattern.test(l));
          if (line !== undefined) done(() => resolve(line));
          else if (exited)
            done(() => reject(new Error(`process exited before printing ${pattern}\n${output()}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no line matched ${pattern}\n${output()}`))),
          timeoutMs,
        );
        const done = (fn: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          fn();
        };
        listeners.add(check);
        check();
      });
    },
    async stop() {
      if (!exited) child.kill("SIGTERM");
      await closed;
    },
  };
}

/** Removes terminal colour codes, which a tool may print even with NO_COLOR. */
function stripAnsi(line: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is being removed
  return line.replace(/\x1b\[[0-9;]*m/g, "");
}
