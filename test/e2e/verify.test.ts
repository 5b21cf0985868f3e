/**
 * `wf verify` against real runs: a process leaves a run sleeping on the local world and exits; the workflow's code
 * then changes under it. `wf verify` replays the unfinished run against the sources (and against a `wf build`
 * output) without executing a step, and reports the divergence with the first differing step.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, type Project, resultOf, runNode } from "./support/process.js";

const wfBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/workflow/bin/wf.js");

interface Wf {
  code: number | null;
  stdout: string;
  stderr: string;
}

function wf(project: Project, args: string[]): Promise<Wf> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [wfBin, ...args], {
      cwd: project.dir,
      env: { ...process.env, WORKFLOW_LOCAL_DATA_DIR: project.dataDir, WORKFLOW_TARGET_WORLD: "local" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("wf verify", () => {
  let project: Project;
  let runs: { sleeping: string; done: string };
  let original: string;

  beforeAll(async () => {
    project = copyProject("verify");
    original = readFileSync(project.file("src/orders.ts"), "utf8");
    runs = resultOf(await runNode(project, ["src/start.ts", "o1"]));
  }, 60_000);
  afterAll(() => project.cleanup());

  const change = (edit: (source: string) => string) =>
    writeFileSync(project.file("src/orders.ts"), edit(original));

  it("passes unfinished runs that the current code continues, and skips finished ones", async () => {
    const result = await wf(project, ["verify"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`ok +${runs.sleeping} +workflow//src/orders\\.ts//fulfil`));
    expect(result.stdout).not.toContain(runs.done);
    expect(result.stdout).toContain("All 1 unfinished run replay cleanly against the current sources.");
  });

  it("lists a run whose workflow changed under it, with the first differing step, and exits 1", async () => {
    change((s) =>
      s.replace(
        "const reservation = await reserve(orderId);",
        "await audit(orderId);\n  const reservation = await reserve(orderId);",
      ),
    );
    try {
      const result = await wf(project, ["verify"]);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`DIVERGES  ${runs.sleeping}  workflow//src/orders.ts//fulfil  at seq`);
      expect(result.stdout).toMatch(
        /called step "step\/\/src\/orders\.ts\/\/audit" \(step_0001\) where the log records step "step\/\/src\/orders\.ts\/\/reserve" \(step_0001\)/,
      );
      const json = JSON.parse((await wf(project, ["verify", "--json"])).stdout);
      expect(json.diverging).toBe(1);
      expect(json.runs[0]).toMatchObject({ runId: runs.sleeping, verdict: "diverges" });
    } finally {
      change((s) => s);
    }
  });

  it("a change after the point the run reached does not diverge", async () => {
    change((s) =>
      s.replace("return ship(reservation);", "await audit(reservation);\n  return ship(reservation);"),
    );
    try {
      const result = await wf(project, ["verify"]);
      expect(result.code, result.stdout).toBe(0);
    } finally {
      change((s) => s);
    }
  });

  it("verifies against a wf build output, and reports a workflow the build lacks", async () => {
    // A longer sleep and a new step after it: the run has reached neither change's effect, so it continues.
    change((s) => s.replace('await sleep("1h");', 'await sleep("2h");\n  await audit(orderId);'));
    let build = await wf(project, ["build"]);
    expect(build.code, build.stderr).toBe(0);
    expect((await wf(project, ["verify", "--build", ".workflow"])).code).toBe(0);

    change((s) => s.replace("export async function fulfil(", "export async function fulfilOrder("));
    build = await wf(project, ["build"]);
    expect(build.code, build.stderr).toBe(0);
    const missing = await wf(project, ["verify", "--build", ".workflow"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(`MISSING   ${runs.sleeping}  workflow//src/orders.ts//fulfil`);
    change((s) => s);
  }, 60_000);

  it("wf build warns when a workflow with runs in flight changed its step sequence", async () => {
    change((s) => s);
    expect((await wf(project, ["build"])).code).toBe(0);
    const manifest = JSON.parse(readFileSync(project.file(".workflow/manifest.json"), "utf8"));
    expect(manifest.workflows["workflow//src/orders.ts//fulfil"]).toMatchObject({
      stepSequence: ["step//src/orders.ts//reserve", "sleep", "step//src/orders.ts//ship"],
      fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
    });

    // Only code between operations changed: same fingerprint, no warning.
    change((s) => s.replace("return ship(reservation);", "return ship(reservation.trim());"));
    let build = await wf(project, ["build"]);
    expect(build.code).toBe(0);
    expect(build.stderr).not.toContain("in flight");

    change((s) =>
      s.replace(
        "const reservation = await reserve(orderId);",
        "await audit(orderId);\n  const reservation = await reserve(orderId);",
      ),
    );
    build = await wf(project, ["build"]);
    expect(build.code).toBe(0);
    expect(build.stderr).toContain(
      "warning: workflow workflow//src/orders.ts//fulfil changed its step sequence and has 1 run in flight",
    );
    expect(build.stderr).toContain("wf verify --build .workflow");
    // `quick` kept its step sequence (and has no run in flight either).
    expect(build.stderr).not.toContain("orders.ts//quick");
    change((s) => s);
  }, 60_000);

  it("nothing was executed or recorded by verifying", async () => {
    const exported = JSON.parse((await wf(project, ["export", runs.sleeping])).stdout);
    expect(exported.events.map((e: { type: string }) => e.type)).toEqual([
      "run_created",
      "run_started",
      "step_created",
      "step_started",
      "step_completed",
      "wait_created",
    ]);
  });
});
