/**
 * Operators end to end: the app (a worker compiled from the sources by `workflow/register`) runs on the local or
 * Postgres world, and `wf` runs as separate processes against the same world while it runs: start a workflow by
 * its name, resume its hook, see it fail, retry it after the outage, fork it, inspect and export it.
 */
import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { copyProject, type Project, type SpawnedNode, spawnNode } from "./support/process.js";
import { positionOf, throwingFrame } from "./support/source-position.js";
import { worldEnv } from "./support/world-setups.js";

const wfBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/workflow/bin/wf.js");

function wf(project: Project, env: Record<string, string>, ...args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [wfBin, ...args], {
      cwd: project.dir,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function wfJson(project: Project, env: Record<string, string>, ...args: string[]) {
  const result = await wf(project, env, ...args, "--json");
  if (result.code !== 0) throw new Error(`wf ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.each(["local", "postgres"] as const)("wf against a running app on the %s world", (kind) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("starts by name, resumes a hook, retries a failed run after the outage, forks it, inspects and exports it", async () => {
    const project = copyProject("operators");
    cleanups.push(() => project.cleanup());
    const { env, cleanup } = await worldEnv(kind, project);
    cleanups.push(cleanup);
    const worker: SpawnedNode = spawnNode(project, ["src/worker.ts"], env);
    cleanups.push(() => {
      worker.child.kill("SIGTERM");
    });
    await worker.waitForLine(/^WORKER \d+ ready/);
    writeFileSync(project.file("outage"), "");

    const started = await wfJson(
      project,
      env,
      "start",
      "approveOrder",
      JSON.stringify(["o-1", ["ab", "abc"]]),
    );
    expect(started.workflowId).toMatch(/^workflow\/\/.*orders.*\/\/approveOrder$/);
    const runId: string = started.runId;
    await until(
      () => wfJson(project, env, "inspect", "hooks", runId),
      (h) => h.data.some((x: { status: string }) => x.status === "active"),
    );
    const resumed = await wf(project, env, "resume-hook", "approval:o-1", '{"approved": true}');
    expect(resumed.stdout).toContain(`of run ${runId}`);
    const failed = await until(
      () => wfJson(project, env, "inspect", "run", runId),
      (r) => r.run.status === "failed",
    );
    expect(failed.run.error.message).toBe("payment provider down while charging o-1");
    // The recorded stack names the step's own source position.
    const thrownAt = positionOf(project.file("src/orders.ts"), "new FatalError(`payment provider down");
    expect(throwingFrame(failed.run.error.stack)?.trim()).toBe(`at charge (${thrownAt})`);

    rmSync(project.file("outage"));
    const retried = await wf(project, env, "retry", runId);
    expect(retried.code).toBe(0);
    const done = await until(
      () => wfJson(project, env, "inspect", "run", runId, "--withData"),
      (r) => r.run.status === "completed",
    );
    expect(done.run.output).toEqual({ orderId: "o-1", status: "charged", charge: "ch_o-1_50" });
    // The parallel price steps ran once; only the charge step ran again.
    const steps = done.steps as { stepName: string; attempt: number; stepId: string }[];
    expect(steps.filter((s) => s.stepName.endsWith("//price")).map((s) => s.attempt)).toEqual([1, 1]);
    const chargeStep = steps.find((s) => s.stepName.endsWith("//charge"))!;

    const fork = await wfJson(project, env, "fork", runId, "--from-step", chargeStep.stepId);
    const forked = await until(
      () => wfJson(project, env, "inspect", "run", fork.runId, "--withData"),
      (r) => r.run.status === "completed",
    );
    expect(forked.run.output).toEqual(done.run.output);
    expect(forked.run.metadata.forkedFrom).toMatchObject({ runId, fromStep: chargeStep.stepId });

    const table = await wf(project, env, "inspect", "runs");
    expect(table.stdout).toMatch(new RegExp(`${runId}\\s+approveOrder\\s+completed`));
    const detail = await wf(project, env, "inspect", "run", runId);
    expect(detail.stdout).toMatch(/time to first step\s+\d/);
    const exported = JSON.parse((await wf(project, env, "export", runId)).stdout);
    expect(exported.events.map((e: { type: string }) => e.type)).toContain("run_retried");
    const health = await wf(project, env, "health");
    expect(health.code).toBe(0);
  });
});
