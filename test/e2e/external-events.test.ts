/**
 * Events from outside a run arriving from OTHER processes, on the local, Postgres, SQLite and Redis worlds: hook payloads
 * recorded by processes that cannot execute runs, by processes killed mid-delivery, and while the run's executor
 * is running a step. A payload must never fail, repeat or strand a run.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resultOf, runNode, type SpawnedNode, spawnNode } from "./support/process.js";
import { type WorldSetup, worldSetups } from "./support/world-setups.js";

const WORLDS = worldSetups("external-events", (project) => ({
  LEDGER: project.file("ledger.txt"),
  WORKFLOW_LEASE_TTL_MS: "2000",
}));

const ledger = (s: WorldSetup) =>
  readFileSync(s.project.file("ledger.txt"), "utf8").trim().split("\n").filter(Boolean);

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A process with no workflow code at all: plain `node`, no `workflow/register`. */
function plainNode(
  s: WorldSetup,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: s.project.dir,
      env: { ...process.env, WORKFLOW_LOCAL_DATA_DIR: s.project.dataDir, ...s.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe.each(Object.keys(WORLDS))("outside events from other processes (%s world)", (worldName) => {
  let s: WorldSetup;
  const running: SpawnedNode[] = [];
  beforeEach(async () => {
    s = await WORLDS[worldName]!();
  });
  afterEach(async () => {
    for (const p of running.splice(0)) p.child.kill("SIGKILL");
    await s.cleanup();
  });

  it("a process that cannot execute runs records payloads with the workers down; a worker consumes each once", async () => {
    const worker = spawnNode(s.project, ["src/main.ts", "worker"], s.env);
    running.push(worker);
    await worker.waitForLine(/^WORKER \d+ ready/, 30_000);
    const started = await runNode(s.project, ["src/main.ts", "start", "down", "3"], {
      env: { ...s.env, WORKFLOW_EXECUTE_RUNS: "0" },
    });
    const ids = JSON.parse(/RUNS (.*)/.exec(started.stdout)![1]!) as string[];
    await until(
      async () =>
        (await Promise.all([0, 1, 2].map((i) => s.world.getHookByToken(`down-${i}`)))).every(Boolean),
      "the worker to reach the hooks",
    );
    worker.child.kill("SIGKILL");
    await worker.done;

    // Workers down: one app that only starts runs, and one process with no workflow code at all.
    await runNode(s.project, ["src/main.ts", "resume", "down", "0", "2"], {
      env: { ...s.env, WORKFLOW_EXECUTE_RUNS: "0" },
    });
    const plain = await plainNode(s, ["src/plain-resume.mjs", "down-2", "p-2"]);
    expect(plain.stderr).toBe("");
    expect(plain.code).toBe(0);

    for (const id of ids) {
      const run = (await s.world.getRun(id))!;
      expect(run.status).toBe("running");
      const events = await s.world.readEvents(id);
      expect(events.map((e) => e.type)).not.toContain("run_failed");
      expect(events.map((e) => e.type)).not.toContain("hook_received");
      expect(await s.world.listDeliveries(id)).toHaveLength(1);
    }
    // Nobody took a lease for them: the killed worker's leases were released when its runs began to wait.
    for (const id of ids) {
      const probe = await s.world.acquireLease(id, "probe", 1_000);
      expect(probe, `lease of ${id}`).toBeDefined();
      await s.world.releaseLease(probe!);
    }

    const again = spawnNode(s.project, ["src/main.ts", "worker"], s.env);
    running.push(again);
    await until(
      async () =>
        (await Promise.all(ids.map((id) => s.world.getRun(id)))).every((r) => r?.status === "completed"),
      "the runs to complete",
    );
    for (const [i, id] of ids.entries()) {
      expect(JSON.stringify((await s.world.getRun(id))!.output)).toContain(`p-${i}`);
      expect(await s.world.listDeliveries(id)).toEqual([]);
    }
    expect(ledger(s).sort()).toEqual(["record down-0", "record down-1", "record down-2"]);
  }, 90_000);

  it("payloads from another process while a step runs never make the step run again", async () => {
    const app = spawnNode(s.project, ["src/main.ts", "step-while", "busy", "5", "3000"], s.env);
    running.push(app);
    await app.waitForLine(/^RUN /, 30_000);
    await runNode(s.project, ["src/main.ts", "resume-same", "busy", "5", "400"], {
      env: { ...s.env, WORKFLOW_EXECUTE_RUNS: "0" },
    });
    const result = resultOf(await app.done);
    expect(result.value).toEqual({ slow: "slow done", payloads: ["p-0", "p-1", "p-2", "p-3", "p-4"] });
    expect(ledger(s)).toEqual(["slow busy"]);
  }, 90_000);

  it("a process killed while resuming 1,000 hooks another process waits on strands no run", async () => {
    const COUNT = 1000;
    const waiting = spawnNode(s.project, ["src/main.ts", "start-wait", "many", String(COUNT)], s.env);
    running.push(waiting);
    await waiting.waitForLine(/^RUNS /, 60_000);
    // B executes runs too (it has the code): it still takes no lease for a payload. Killed half-way.
    const resumer = spawnNode(s.project, ["src/main.ts", "resume", "many", "0", String(COUNT)], s.env);
    running.push(resumer);
    await resumer.waitForLine(new RegExp(`^DELIVERED many-${COUNT / 2}$`), 60_000);
    resumer.child.kill("SIGKILL");
    const killed = await resumer.done;
    const delivered = killed.stdout.split("\n").filter((l) => l.startsWith("DELIVERED ")).length;
    expect(killed.signal).toBe("SIGKILL");
    expect(delivered).toBeLessThan(COUNT);
    // C delivers the rest (the one in flight when B died may already be in; its run ended, or gets it twice).
    await runNode(s.project, ["src/main.ts", "resume", "many", String(delivered), String(COUNT)], {
      env: { ...s.env, WORKFLOW_EXECUTE_RUNS: "0", SKIP_GONE: "1" },
    });
    const result = resultOf(await waiting.done);
    expect(result.values).toHaveLength(COUNT);
    expect(result.values).toEqual(
      Array.from({ length: COUNT }, (_, i) => ({ token: `many-${i}`, payload: `p-${i}` })),
    );
    const records = ledger(s);
    expect(new Set(records).size).toBe(COUNT);
  }, 180_000);
});
