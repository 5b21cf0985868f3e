/**
 * Child runs, queries and step timeouts through the real compiler (`node --import workflow/register`), in real
 * processes on the local world and on Postgres: a parent starting a child with `start()` from `workflow/api`, a
 * query answered in another process, a SIGKILL between a child's creation and the parent's record of it, and a
 * step timeout that fires after the worker running the step died.
 */
import { existsSync, readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resultOf, runNode, type SpawnedNode, spawnNode } from "./support/process.js";
import { type WorldSetup, worldSetups } from "./support/world-setups.js";

const { local, postgres } = worldSetups("composition", (project) => ({
  LEDGER: project.file("ledger.txt"),
  WORKFLOW_LEASE_TTL_MS: "1500",
}));
const WORLDS = { local, postgres };

const ledger = (s: WorldSetup) =>
  existsSync(s.project.file("ledger.txt"))
    ? readFileSync(s.project.file("ledger.txt"), "utf8").trim().split("\n").filter(Boolean)
    : [];

async function until<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(Object.keys(WORLDS))(
  "child runs, queries and step timeouts in real processes (%s world)",
  (name) => {
    let s: WorldSetup;
    const running: SpawnedNode[] = [];
    beforeEach(async () => {
      s = await WORLDS[name]!();
    });
    afterEach(async () => {
      for (const p of running.splice(0)) p.child.kill("SIGKILL");
      await s.cleanup();
    });

    it("a parent starts a child with start() and awaits it; another process queries the parent", async () => {
      const app = spawnNode(s.project, ["src/main.ts", "parent", "4"], s.env);
      running.push(app);
      const runId = (await app.waitForLine(/^RUN /, 30_000)).slice(4).trim();
      const answer = await until(
        async () =>
          resultOf(await runNode(s.project, ["src/main.ts", "query", runId, "phase"], { env: s.env })).answer,
        (phase) => phase === "done",
        "the parent's phase to be done",
      );
      expect(answer).toBe("done");
      expect(resultOf(await app.done).value).toBe(41);
      const child = (await s.world.getRun(`${runId}_c1`))!;
      expect(child.status).toBe("completed");
      expect(child.metadata).toMatchObject({ parent: { runId } });
      expect(ledger(s)).toEqual(["child 4"]);
    }, 90_000);

    it("a SIGKILL between creating the child and recording it: the run continues elsewhere with that one child", async () => {
      const stalling = { ...s.env, WORKFLOW_TARGET_WORLD: "./src/stalling-world.mjs", STALL_INNER: name };
      const app = spawnNode(s.project, ["src/main.ts", "parent", "5"], stalling);
      running.push(app);
      const runId = (await app.waitForLine(/^RUN /, 30_000)).slice(4).trim();
      await app.waitForLine(/^CHILD CREATED /, 30_000);
      app.child.kill("SIGKILL");
      await app.done;
      const worker = spawnNode(s.project, ["src/main.ts", "worker"], s.env);
      running.push(worker);
      const run = await until(
        () => s.world.getRun(runId),
        (r) => r?.status === "completed",
        "the parent to complete",
        60_000,
      );
      expect(JSON.stringify(run!.output)).toContain("51");
      const runs = (await s.world.listRuns({ limit: 100 })).items.map((r) => r.runId).sort();
      expect(runs).toEqual([runId, `${runId}_c1`].sort());
      expect(ledger(s)).toEqual(["child 5"]);
      const startSteps = (await s.world.readEvents(runId)).filter(
        (e) => e.type === "step_started" && e.correlationId === "step_0002",
      );
      // The start was attempted again after the crash, and found the child it had created.
      expect(startSteps.map((e) => e.data!.attempt)).toEqual([1, 2]);
    }, 120_000);

    it("a step timeout fires on the worker that took over after the first one died mid-step", async () => {
      const app = spawnNode(s.project, ["src/main.ts", "timed"], s.env);
      running.push(app);
      const runId = (await app.waitForLine(/^RUN /, 30_000)).slice(4).trim();
      await until(
        async () => ledger(s),
        (lines) => lines.includes("hang attempt 1"),
        "the first attempt to start",
      );
      app.child.kill("SIGKILL");
      await app.done;
      const worker = spawnNode(s.project, ["src/main.ts", "worker"], s.env);
      running.push(worker);
      const run = await until(
        () => s.world.getRun(runId),
        (r) => r?.status === "completed",
        "the run to complete",
        60_000,
      );
      expect(JSON.stringify(run!.output)).toContain("StepTimeoutError");
      expect(ledger(s)).toEqual(["hang attempt 1", "hang attempt 2"]);
      const outcomes = (await s.world.readEvents(runId)).filter((e) =>
        ["step_completed", "step_failed", "step_retrying"].includes(e.type),
      );
      expect(outcomes.map((e) => e.type)).toEqual(["step_failed"]);
    }, 120_000);
  },
);
