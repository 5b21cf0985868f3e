/**
 * Runs Vitest in a child process in another project folder (its own vitest.config.ts), the way a user runs their
 * workflow tests, and reports the counts of its JSON reporter.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

export interface VitestRun {
  code: number | null;
  passed: number;
  failed: number;
  /** Full names of failed tests with their first failure message. */
  failures: string[];
  output: string;
}

const vitestBin = path.join(
  path.dirname(createRequire(import.meta.url).resolve("vitest/package.json")),
  "vitest.mjs",
);

/** `opts.bin`: the Vitest to run (an installed app's own); default the repository's. */
export async function runVitest(
  cwd: string,
  args: string[] = [],
  opts: { bin?: string } = {},
): Promise<VitestRun> {
  const outDir = mkdtempSync(path.join(tmpdir(), "wf-vitest-"));
  const outFile = path.join(outDir, "report.json");
  // The parent is a Vitest worker: its VITEST_* variables would make the child think it is one too.
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("VITEST") && key !== "NODE_OPTIONS") env[key] = value;
  }
  const child = spawn(
    process.execPath,
    [
      opts.bin ?? vitestBin,
      "run",
      "--reporter=json",
      `--outputFile=${outFile}`,
      "--reporter=default",
      ...args,
    ],
    { cwd, env: { ...env, FORCE_COLOR: "0", NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  try {
    const report = JSON.parse(readFileSync(outFile, "utf8")) as {
      numPassedTests: number;
      numFailedTests: number;
      testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
    };
    const failures = report.testResults.flatMap((f) =>
      f.assertionResults
        .filter((a) => a.status === "failed")
        .map((a) => `${a.fullName}: ${a.failureMessages[0]?.split("\n")[0] ?? ""}`),
    );
    return { code, passed: report.numPassedTests, failed: report.numFailedTests, failures, output };
  } catch {
    return { code, passed: 0, failed: 0, failures: [], output };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
