import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { recordingIo } from "./__tests__/run-wf.js";
import { createProgram } from "./program.js";

function run(args: string[], cwd: string) {
  const { io, result } = recordingIo(cwd);
  const program = createProgram(io).exitOverride();
  // Subcommands do not inherit an exitOverride set after they were added.
  for (const command of program.commands) command.exitOverride();
  try {
    program.parse(["node", "wf", ...args]);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    io.exit(error.exitCode);
  }
  return result();
}

describe("wf transform", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "wf-cli-"));
  writeFileSync(
    path.join(dir, "flow.ts"),
    'export async function s() {\n  "use step";\n  return 1;\n}\nexport async function w() {\n  "use workflow";\n  return s();\n}\n',
  );
  writeFileSync(
    path.join(dir, "bad.ts"),
    'export async function w() {\n  "use workflow";\n  setTimeout(() => {}, 1);\n}\n',
  );

  it("prints the workflow shape by default, with IDs relative to the project root (here: the current directory)", () => {
    const { stdout, stderr, exitCode } = run(["transform", "flow.ts"], dir);
    expect(exitCode).toBe(0);
    expect(stderr).toBe("");
    expect(stdout).toContain('globalThis[Symbol.for("wfkit.useStep")]("step//flow.ts//s")');
    expect(stdout).toContain('.set("workflow//flow.ts//w", w)');
  });

  it("honours --mode and --project-root", () => {
    const { stdout } = run(
      ["transform", path.join(dir, "flow.ts"), "--mode", "step", "--project-root", tmpdir()],
      "/",
    );
    const moduleId = `${path.basename(dir)}/flow.ts`;
    expect(stdout).toContain(`.set("step//${moduleId}//s", s)`);
    expect(stdout).toContain("w is a workflow");
  });

  it("prints diagnostics to stderr as file:line:col CODE message + hint and exits 1 on errors", () => {
    const { stdout, stderr, exitCode } = run(["transform", "bad.ts"], dir);
    expect(stdout).toContain("setTimeout");
    expect(stderr).toMatch(/bad\.ts:3:2 TIMER_IN_WORKFLOW .+\n {2}hint: .*sleep/);
    expect(exitCode).toBe(1);
  });

  it("reports a file nested too deeply for the parser with exit code 1 instead of crashing", () => {
    // 3,000 parentheses overflowed swc's native stack: SIGSEGV, the whole process gone.
    const n = 3000;
    writeFileSync(
      path.join(dir, "deep.ts"),
      `export async function w(x: number) {\n  "use workflow";\n  return ${"(".repeat(n)}x${")".repeat(n)};\n}\n`,
    );
    const { stderr, exitCode } = run(["transform", "deep.ts"], dir);
    expect(stderr).toMatch(/deep\.ts:3:\d+ NESTING_TOO_DEEP .+\n {2}hint: Split the expression/);
    expect(exitCode).toBe(1);
  });

  it("rejects an unknown mode and a missing file with exit code 1", () => {
    expect(run(["transform", "flow.ts", "--mode", "server"], dir)).toMatchObject({ exitCode: 1 });
    const missing = run(["transform", "nope.ts"], dir);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.ts/);
  });
});

describe("wf --help and --version", () => {
  it("lists every command with a one-line description", () => {
    const { stdout } = run(["--help"], process.cwd());
    for (const command of [
      "transform",
      "build",
      "worker",
      "postgres",
      "inspect",
      "start",
      "cancel",
      "retry",
      "fork",
      "rewind",
      "pause",
      "resume",
      "resume-hook",
      "streams",
      "export",
      "health",
    ]) {
      expect(stdout).toMatch(new RegExp(`\\n  ${command}\\b[^\\n]*\\s{2}\\S`));
    }
    const inspect = run(["inspect", "--help"], process.cwd()).stdout;
    for (const sub of ["runs", "run", "steps", "events", "hooks", "sleeps", "streams"]) {
      expect(inspect).toMatch(new RegExp(`\\n  ${sub}\\b`));
    }
  });

  it("prints the package version", () => {
    expect(run(["--version"], process.cwd()).stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("operator commands and the world they open", () => {
  it("refuse a local or SQLite world that does not exist instead of creating an empty one", async () => {
    const { runWf } = await import("./__tests__/run-wf.js");
    const { existsSync } = await import("node:fs");
    const dir = mkdtempSync(path.join(tmpdir(), "wf-noworld-"));
    const missing = path.join(dir, "typo");
    const local = await runWf(["inspect", "runs", "--world", "local", "--data-dir", missing], dir);
    expect(local.exitCode).toBe(1);
    expect(local.stderr).toMatch(/there is no local world at .*typo: nothing has run there yet.*--data-dir/);
    const sqlite = await runWf(["inspect", "runs", "--world", "sqlite", "--data-dir", missing], dir);
    expect(sqlite.stderr).toMatch(/there is no sqlite world at .*typo.*workflow\.db/);
    expect(existsSync(missing)).toBe(false);
  });
});
