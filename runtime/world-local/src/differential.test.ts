/**
 * Differential test: random operation sequences run against the memory world (the reference) and the
 * local world must give the same answers (success or the same error code) and the same rows, also after
 * the local world is reopened and has rebuilt everything from its files. The local side is two instances
 * on one directory, picked at random per operation, so each often acts on a stale view of the files, as
 * two processes would.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryWorld, type Lease, type NewEvent, type World } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import { createLocalWorld } from "./local-world.js";

/** Small seeded PRNG (mulberry32), so a failing seed can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomEvent(r: () => number, at: number): NewEvent {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const step = pick(["s0", "s1", "s2", "s3"]);
  const hook = pick(["h0", "h1", "h2"]);
  const token = pick(["t0", "t1", "t2"]);
  const choices: NewEvent[] = [
    { type: "run_started", createdAt: at },
    {
      type: "step_created",
      correlationId: step,
      data: { stepName: `n-${step}`, input: "[]" },
      createdAt: at,
    },
    { type: "step_started", correlationId: step, data: { attempt: 1 + Math.floor(r() * 3) }, createdAt: at },
    {
      type: "step_retrying",
      correlationId: step,
      data: { attempt: 1, error: "e", retryAt: 1_000 + Math.floor(r() * 1_000) },
      createdAt: at,
    },
    { type: "step_completed", correlationId: step, data: { output: `"${at}"` }, createdAt: at },
    { type: "step_failed", correlationId: step, data: { error: "f" }, createdAt: at },
    {
      type: "wait_created",
      correlationId: pick(["w0", "w1"]),
      data: { resumeAt: 1_000 + Math.floor(r() * 1_000) },
      createdAt: at,
    },
    { type: "wait_completed", correlationId: pick(["w0", "w1"]), createdAt: at },
    { type: "hook_created", correlationId: hook, data: { token }, createdAt: at },
    { type: "hook_received", correlationId: hook, data: { payload: "p" }, createdAt: at },
    { type: "hook_disposed", correlationId: hook, createdAt: at },
  ];
  if (r() < 0.008)
    return pick<NewEvent>([
      { type: "run_completed", data: { output: "o" }, createdAt: at },
      { type: "run_failed", data: { error: "x" }, createdAt: at },
      { type: "run_cancelled", data: { reason: "c" }, createdAt: at },
    ]);
  return pick(choices);
}

const TIME_FIELDS = new Set(["createdAt", "updatedAt", "startedAt", "completedAt", "disposedAt"]);

/** Drops wall-clock fields that legitimately differ between two worlds (createRun stamps its own time). */
function strip<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v) => (TIME_FIELDS.has(k) ? undefined : v)));
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

async function snapshot(world: World, runIds: string[]) {
  const runs = [];
  for (const id of runIds) {
    const run = await world.getRun(id);
    if (!run) {
      runs.push(null);
      continue;
    }
    runs.push({
      run,
      events: await world.readEvents(id),
      steps: await world.listSteps(id),
      waits: await world.listWaits(id),
      hooks: await world.listHooks(id),
    });
  }
  const tokens = [];
  for (const t of ["t0", "t1", "t2"]) tokens.push(await world.getHookByToken(t));
  return strip({
    runs,
    tokens,
    due: await world.listDue(10_000, 1_000),
    nextWakeAt: await world.nextWakeAt(),
    unfinished: (await world.listUnfinished(1_000)).items.map((r) => r.runId).sort(),
    all: (await world.listRuns({ limit: 1_000 })).items.map((r) => r.runId).sort(),
  });
}

describe("local world behaves like the memory world", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  for (const seed of [1, 2, 3, 4]) {
    it(`on random operations (seed ${seed})`, async () => {
      const r = rng(seed);
      const dataDir = mkdtempSync(join(tmpdir(), "wfkit-diff-"));
      dirs.push(dataDir);
      const memory = createMemoryWorld();
      const localA = createLocalWorld({ dataDir, watch: false });
      const localB = createLocalWorld({ dataDir, watch: false });
      const local = () => (r() < 0.5 ? localA : localB);
      const runIds = ["r0", "r1", "r2", "r3", "r4"];
      const leases = new Map<string, Lease>();

      for (let op = 0; op < 600; op++) {
        const runId = runIds[Math.floor(r() * runIds.length)]!;
        if (r() < 0.08) {
          const input = { runId, workflowName: `wf-${runId}`, input: "[]" };
          const [a, b] = [await outcome(memory.createRun(input)), await outcome(local().createRun(input))];
          expect(b, `op ${op}: createRun ${runId}`).toBe(a);
          continue;
        }
        if (r() < 0.1 && (await memory.getRun(runId))) {
          // Lease operations (long TTLs: expiry is covered by the conformance suite, not here).
          const owner = r() < 0.5 ? "A" : "B";
          const held = leases.get(`${runId}/${owner}`);
          const kind = r();
          const w = local();
          if (kind < 0.5 || !held) {
            const [a, b] = [
              await memory.acquireLease(runId, owner, 60_000),
              await w.acquireLease(runId, owner, 60_000),
            ];
            expect(b?.token, `op ${op}: acquire ${runId} by ${owner}`).toBe(a?.token);
            if (a) leases.set(`${runId}/${owner}`, a);
          } else if (kind < 0.75) {
            const [a, b] = [await memory.renewLease(held, 60_000), await w.renewLease(held, 60_000)];
            expect(b?.token, `op ${op}: renew ${runId} by ${owner}`).toBe(a?.token);
          } else {
            await memory.releaseLease(held);
            await w.releaseLease(held);
          }
          continue;
        }
        const head = (await memory.getRun(runId))?.lastSeq ?? 0;
        const roll = r();
        const expectedSeq = roll < 0.85 ? head : roll < 0.93 ? head - 1 : head + 1;
        const events = Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomEvent(r, op));
        // A run-ending event must be last in its batch; keep only the first one and cut after it.
        const end = events.findIndex((e) => e.type.startsWith("run_") && e.type !== "run_started");
        const batch = end >= 0 ? events.slice(0, end + 1) : events;
        const lease = r() < 0.3 ? leases.get(`${runId}/${r() < 0.5 ? "A" : "B"}`) : undefined;
        const opts = lease ? { lease } : undefined;
        const [a, b] = [
          await outcome(memory.append(runId, expectedSeq, batch, opts)),
          await outcome(local().append(runId, expectedSeq, batch, opts)),
        ];
        expect(b, `op ${op}: append to ${runId} at ${expectedSeq}: ${JSON.stringify(batch)}`).toBe(a);
      }

      const expected = await snapshot(memory, runIds);
      expect(await snapshot(localA, runIds)).toEqual(expected);
      expect(await snapshot(localB, runIds)).toEqual(expected);
      await localA.close();
      await localB.close();
      const reopened = createLocalWorld({ dataDir, watch: false });
      expect(await snapshot(reopened, runIds)).toEqual(expected);
      await reopened.close();
    });
  }
});
