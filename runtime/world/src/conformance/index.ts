/**
 * The World conformance suite: one contract test that every world runs, so the engine can rely on the
 * same behaviour from memory, local files, Postgres and Vercel. Call it from a test file:
 *
 *   runWorldConformance("local", async () => {
 *     const dir = await mkdtemp(...);
 *     return { world: createLocalWorld({ dataDir: dir }), reopen: async () => createLocalWorld({ dataDir: dir }) };
 *   });
 *
 * Each case gets a fresh world from `factory`. A world that cannot support a case passes its name in
 * `opts.skip` with the reason; the case is then reported as skipped with that reason in its title.
 * Timing-based cases (lease expiry) use a TTL of 500 ms.
 */
import { afterEach, beforeEach, describe, expect, it, type TestContext } from "vitest";
import { isWorldError } from "../errors.js";
import { flowGatesOf } from "../flow-gates.js";
import { type ScheduleDefinition, schedulesOf } from "../schedules.js";
import { stepTasksOf } from "../step-tasks.js";
import type {
  NewEvent,
  RunNotification,
  RunRecord,
  StepTask,
  StepTaskNotification,
  StepTaskOutcome,
  World,
} from "../types.js";

export interface WorldUnderTest {
  world: World;
  /** Closes nothing itself: returns a second world over the same storage (after `world.close()`). */
  reopen?: () => Promise<World>;
  /**
   * A second world over the same storage, open at the same time as `world` (as another process would open it).
   * Worlds shared between processes give it; the cases that need it are skipped for the others.
   */
  concurrent?: () => Promise<World>;
  cleanup?: () => Promise<void>;
}

export interface ConformanceOptions {
  /** Case name → reason it cannot pass on this world. */
  skip?: Record<string, string>;
}

/** Short enough to keep the suite quick, long enough that a busy machine does not expire it early. */
const LEASE_TTL_MS = 500;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  expect(error, `expected a WorldError with code ${code}`).toBeDefined();
  if (!isWorldError(error, code)) throw error;
}

const step = (id: string, name = "step//./m//s"): NewEvent => ({
  type: "step_created",
  correlationId: id,
  data: { stepName: name, input: `["${id}"]` },
});

export function runWorldConformance(
  name: string,
  factory: () => Promise<WorldUnderTest>,
  opts: ConformanceOptions = {},
): void {
  describe(`World conformance: ${name}`, () => {
    let subject: WorldUnderTest;
    let world: World;
    const extraWorlds: World[] = [];

    beforeEach(async () => {
      subject = await factory();
      world = subject.world;
    });
    afterEach(async () => {
      for (const w of extraWorlds.splice(0)) await w.close().catch(() => {});
      await world.close().catch(() => {});
      await subject.cleanup?.();
    });

    const test = (caseName: string, fn: (ctx: TestContext) => Promise<void>, timeout?: number) => {
      const reason = opts.skip?.[caseName];
      if (reason !== undefined) it.skip(`${caseName} (skipped: ${reason})`, fn);
      else it(caseName, fn, timeout);
    };

    const newRun = async (workflowName = "workflow//./m//wf", extra: { runId?: string } = {}) => {
      const { run } = await world.createRun({ workflowName, input: "[]", ...extra });
      return run;
    };
    /** Appends at the run's current head. */
    const push = async (runId: string, ...events: NewEvent[]) => {
      const run = (await world.getRun(runId))!;
      return world.append(runId, run.lastSeq, events);
    };

    // ---------------------------------------------------------------- runs and the log

    test("createRun writes run_created at seq 1 and a pending run row", async () => {
      const before = Date.now();
      const res = await world.createRun({
        workflowName: "workflow//./a//wf",
        input: '["x"]',
        deploymentId: "dep1",
        metadata: { k: 1 },
      });
      expect(res.events).toHaveLength(1);
      const [ev] = res.events;
      expect(ev).toMatchObject({ type: "run_created", seq: 1, runId: res.run.runId });
      expect(ev!.createdAt).toBeGreaterThanOrEqual(before);
      expect(res.run).toMatchObject({
        workflowName: "workflow//./a//wf",
        input: '["x"]',
        status: "pending",
        deploymentId: "dep1",
        metadata: { k: 1 },
        lastSeq: 1,
      });
      expect(res.run.createdAt).toBe(ev!.createdAt);
      expect(await world.getRun(res.run.runId)).toEqual(res.run);
      expect(await world.readEvents(res.run.runId)).toEqual(res.events);
    });

    test("createRun makes unique wrun_ IDs and refuses an existing runId", async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 20; i++) ids.add((await newRun()).runId);
      expect(ids.size).toBe(20);
      for (const id of ids) expect(id).toMatch(/^wrun_[0-9A-Z]{20,}$/);
      const mine = await newRun("wf", { runId: "wrun_custom1" });
      expect(mine.runId).toBe("wrun_custom1");
      await expectCode(
        world.createRun({ runId: "wrun_custom1", workflowName: "wf", input: "[]" }),
        "APPEND_CONFLICT",
      );
    });

    test("concurrent createRun calls with one runId, from this and another instance: exactly one wins", async (ctx) => {
      const others = subject.concurrent ? [await subject.concurrent()] : [];
      extraWorlds.push(...others);
      const writers = [world, ...others];
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          writers[i % writers.length]!.createRun({ runId: "wrun_once", workflowName: "wf", input: `[${i}]` }),
        ),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results)
        if (r.status === "rejected") expect(isWorldError(r.reason, "APPEND_CONFLICT")).toBe(true);
      expect(await world.readEvents("wrun_once")).toHaveLength(1);
      if (others.length === 0) ctx.annotate?.("no concurrent instance: one instance only");
    });

    test("append numbers events densely and returns them with the run row", async () => {
      const run = await newRun();
      const res = await world.append(run.runId, 1, [{ type: "run_started" }, step("s1")]);
      expect(res.events.map((e) => [e.seq, e.type])).toEqual([
        [2, "run_started"],
        [3, "step_created"],
      ]);
      expect(res.run.lastSeq).toBe(3);
      expect(res.run.status).toBe("running");
      const res2 = await world.append(run.runId, 3, [
        { type: "step_started", correlationId: "s1", data: { attempt: 1 } },
      ]);
      expect(res2.events[0]!.seq).toBe(4);
      expect((await world.readEvents(run.runId)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    });

    test("append keeps an engine-chosen createdAt", async () => {
      const run = await newRun();
      const res = await world.append(run.runId, 1, [{ type: "run_started", createdAt: 1234 }]);
      expect(res.events[0]!.createdAt).toBe(1234);
      expect((await world.readEvents(run.runId, { afterSeq: 1 }))[0]!.createdAt).toBe(1234);
    });

    test("a stale or future expectedSeq is refused with AppendConflictError", async () => {
      const run = await newRun();
      await world.append(run.runId, 1, [{ type: "run_started" }]);
      let error: unknown;
      try {
        await world.append(run.runId, 1, [step("s1")]);
      } catch (e) {
        error = e;
      }
      expect(isWorldError(error, "APPEND_CONFLICT")).toBe(true);
      expect(error).toMatchObject({ runId: run.runId, expectedSeq: 1, actualSeq: 2 });
      await expectCode(world.append(run.runId, 5, [step("s1")]), "APPEND_CONFLICT");
      expect((await world.getRun(run.runId))!.lastSeq).toBe(2);
    });

    test("an unknown run: appends, reads and leases refused with RunNotFoundError", async () => {
      await expectCode(world.append("wrun_doesnotexist", 1, [{ type: "run_started" }]), "RUN_NOT_FOUND");
      expect(await world.getRun("wrun_doesnotexist")).toBeUndefined();
      expect(await world.getStep("wrun_doesnotexist", "s")).toBeUndefined();
      await expectCode(world.readEvents("wrun_doesnotexist"), "RUN_NOT_FOUND");
      await expectCode(world.listSteps("wrun_doesnotexist"), "RUN_NOT_FOUND");
      await expectCode(world.acquireLease("wrun_doesnotexist", "A", 1_000), "RUN_NOT_FOUND");
    });

    test("concurrent appenders with the same expectedSeq: exactly one wins", async () => {
      const run = await newRun();
      const results = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) => world.append(run.runId, 1, [step(`s${i}`)])),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === "rejected") expect(isWorldError(r.reason, "APPEND_CONFLICT")).toBe(true);
      }
      const events = await world.readEvents(run.runId);
      expect(events.map((e) => e.seq)).toEqual([1, 2]);
    });

    test("racing writers that retry on conflict never fork the log", async () => {
      const run = await newRun();
      const writer = async (w: number) => {
        for (let i = 0; i < 8; i++) {
          for (;;) {
            const head = (await world.getRun(run.runId))!.lastSeq;
            try {
              await world.append(run.runId, head, [step(`w${w}-${i}`)]);
              break;
            } catch (e) {
              if (!isWorldError(e, "APPEND_CONFLICT")) throw e;
            }
          }
        }
      };
      await Promise.all([0, 1, 2, 3].map(writer));
      const events = await world.readEvents(run.runId);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 33 }, (_, i) => i + 1));
      const ids = events.slice(1).map((e) => e.correlationId);
      expect(new Set(ids).size).toBe(32);
      expect((await world.listSteps(run.runId)).length).toBe(32);
    });

    test("nothing can be appended after run_completed, run_failed or run_cancelled", async () => {
      const ends: NewEvent[] = [
        { type: "run_completed", data: { output: "1" } },
        { type: "run_failed", data: { error: "e" } },
        { type: "run_cancelled", data: { reason: "r" } },
      ];
      for (const end of ends) {
        const run = await newRun();
        await world.append(run.runId, 1, [end]);
        await expectCode(world.append(run.runId, 2, [{ type: "run_started" }]), "RUN_FINISHED");
        await expectCode(world.append(run.runId, 2, [{ type: "run_cancelled", data: {} }]), "RUN_FINISHED");
        expect((await world.getRun(run.runId))!.lastSeq).toBe(2);
      }
    });

    test("readEvents honours afterSeq and limit", async () => {
      const run = await newRun();
      await world.append(run.runId, 1, [step("a"), step("b"), step("c"), step("d")]);
      const seqs = async (o?: { afterSeq?: number; limit?: number }) =>
        (await world.readEvents(run.runId, o)).map((e) => e.seq);
      expect(await seqs()).toEqual([1, 2, 3, 4, 5]);
      expect(await seqs({ afterSeq: 2 })).toEqual([3, 4, 5]);
      expect(await seqs({ afterSeq: 1, limit: 2 })).toEqual([2, 3]);
      expect(await seqs({ afterSeq: 5 })).toEqual([]);
      expect(await seqs({ limit: 0 })).toEqual([]);
      const events = await world.readEvents(run.runId, { afterSeq: 1, limit: 1 });
      expect(events[0]).toMatchObject({ runId: run.runId, type: "step_created", correlationId: "a" });
    });

    // ---------------------------------------------------------------- materialised rows

    test("run rows follow run_started, run_completed, run_failed and run_cancelled", async () => {
      const a = await newRun();
      const started = await world.append(a.runId, 1, [{ type: "run_started" }]);
      expect(started.run.status).toBe("running");
      expect(started.run.startedAt).toBe(started.events[0]!.createdAt);
      const done = await world.append(a.runId, 2, [{ type: "run_completed", data: { output: '"ok"' } }]);
      expect(done.run).toMatchObject({
        status: "completed",
        output: '"ok"',
        completedAt: done.events[0]!.createdAt,
      });
      expect(done.run.updatedAt).toBe(done.events[0]!.createdAt);

      const b = await newRun();
      const failed = await world.append(b.runId, 1, [
        { type: "run_started" },
        { type: "run_failed", data: { error: "E" } },
      ]);
      expect(failed.run).toMatchObject({ status: "failed", error: "E" });
      expect(failed.run.completedAt).toBeDefined();

      const c = await newRun();
      const cancelled = await world.append(c.runId, 1, [
        { type: "run_cancelled", data: { reason: "by op" } },
      ]);
      expect(cancelled.run).toMatchObject({ status: "cancelled", cancelReason: "by op" });
      expect(await world.getRun(c.runId)).toEqual(cancelled.run);
    });

    test("run_retried reopens a failed run: failed steps pending, hooks live, sleeps due, the run due until run_started", async () => {
      const now = Date.now();
      const run = await newRun();
      await push(
        run.runId,
        { type: "run_started" },
        step("ok"),
        { type: "step_started", correlationId: "ok", data: { attempt: 1 } },
        { type: "step_completed", correlationId: "ok", data: { output: "1" } },
        { type: "hook_created", correlationId: "h", data: { token: `retry-${run.runId}` } },
        { type: "wait_created", correlationId: "w", data: { resumeAt: now + 60_000 } },
        step("bad"),
        { type: "step_started", correlationId: "bad", data: { attempt: 1 } },
        { type: "step_failed", correlationId: "bad", data: { error: "boom" } },
      );
      const failed = await push(run.runId, { type: "run_failed", data: { error: "boom" } });
      expect(failed.run.status).toBe("failed");
      expect(await world.getHookByToken(`retry-${run.runId}`)).toBeUndefined();
      expect((await world.listUnfinished()).items.map((r) => r.runId)).not.toContain(run.runId);

      const retried = await world.append(run.runId, failed.run.lastSeq, [
        {
          type: "run_retried",
          data: {
            rescinds: [failed.run.lastSeq - 1, failed.run.lastSeq],
            steps: ["bad"],
            hooks: [{ hookId: "h", token: `retry-${run.runId}` }],
          },
        },
      ]);
      expect(retried.run.status).toBe("running");
      expect(retried.run.error).toBeUndefined();
      expect(retried.run.completedAt).toBeUndefined();
      expect(await world.getStep(run.runId, "bad")).toMatchObject({ status: "pending" });
      expect(await world.getStep(run.runId, "ok")).toMatchObject({ status: "completed", output: "1" });
      expect(await world.getHookByToken(`retry-${run.runId}`)).toMatchObject({
        runId: run.runId,
        status: "active",
      });
      expect((await world.listUnfinished()).items.map((r) => r.runId)).toContain(run.runId);
      // Due at once (someone must pick it up), and no longer once an executor records run_started.
      expect((await world.listDue(Date.now())).map((d) => d.runId)).toContain(run.runId);
      const started = await world.append(run.runId, retried.run.lastSeq, [{ type: "run_started" }]);
      expect((await world.listDue(Date.now())).map((d) => d.runId)).not.toContain(run.runId);
      expect(started.run.wakeAt).toBe(now + 60_000);
    });

    test("run_paused: paused, listed as neither unfinished nor due, appends still accepted; run_resumed: due until run_started", async () => {
      const now = Date.now();
      const run = await newRun();
      await push(
        run.runId,
        { type: "run_started" },
        { type: "wait_created", correlationId: "w", data: { resumeAt: now - 1000 } },
        step("s"),
        { type: "step_started", correlationId: "s", data: { attempt: 1 } },
      );
      expect((await world.listDue(now)).map((d) => d.runId)).toContain(run.runId);
      const paused = await push(run.runId, { type: "run_paused", data: { reason: "maintenance" } });
      expect(paused.run.status).toBe("paused");
      expect(paused.run.wakeAt).toBeUndefined();
      expect((await world.listDue(now + 60_000)).map((d) => d.runId)).not.toContain(run.runId);
      expect((await world.listUnfinished()).items.map((r) => r.runId)).not.toContain(run.runId);
      expect((await world.listRuns({ status: "paused" })).items.map((r) => r.runId)).toEqual([run.runId]);
      // The step that was running finishes and is recorded; the run stays paused.
      const recorded = await push(run.runId, {
        type: "step_completed",
        correlationId: "s",
        data: { output: "1" },
      });
      expect(recorded.run.status).toBe("paused");
      const resumed = await push(run.runId, { type: "run_resumed" });
      expect(resumed.run.status).toBe("running");
      expect((await world.listDue(Date.now())).map((d) => d.runId)).toContain(run.runId);
      expect((await world.listUnfinished()).items.map((r) => r.runId)).toContain(run.runId);
      const started = await push(run.runId, { type: "run_started" });
      expect(started.run.wakeAt).toBe(now - 1000);
      // A run paused before it started goes back to pending.
      const fresh = await newRun();
      await push(fresh.runId, { type: "run_paused", data: {} });
      expect((await push(fresh.runId, { type: "run_resumed" })).run.status).toBe("pending");
    });

    test("run_retried is refused unless the run failed, and must come first in its batch", async () => {
      const running = await newRun();
      await push(running.runId, { type: "run_started" });
      const retry = (): NewEvent => ({ type: "run_retried", data: { rescinds: [], steps: [], hooks: [] } });
      await expectCode(push(running.runId, retry()), "INVALID_EVENT");
      const done = await newRun();
      await push(done.runId, { type: "run_completed", data: { output: "" } });
      await expectCode(push(done.runId, retry()), "RUN_FINISHED");
      const cancelled = await newRun();
      await push(cancelled.runId, { type: "run_cancelled", data: {} });
      await expectCode(push(cancelled.runId, retry()), "RUN_FINISHED");
      const failed = await newRun();
      await push(failed.runId, { type: "run_failed", data: { error: "x" } });
      await expectCode(push(failed.runId, { type: "run_started" }, retry()), "INVALID_EVENT");
      await expectCode(push(failed.runId, { type: "run_started" }), "RUN_FINISHED");
      expect((await push(failed.runId, retry(), { type: "run_started" })).run.status).toBe("running");
    });

    test("run_retried is refused when a hook it brings back lost its token to another run", async () => {
      const token = `lost-${Math.random().toString(36).slice(2)}`;
      const first = await newRun();
      await push(first.runId, { type: "hook_created", correlationId: "h", data: { token } });
      const failed = await push(first.runId, { type: "run_failed", data: { error: "x" } });
      const second = await newRun();
      await push(second.runId, { type: "hook_created", correlationId: "h", data: { token } });
      await expectCode(
        world.append(first.runId, failed.run.lastSeq, [
          {
            type: "run_retried",
            data: { rescinds: [failed.run.lastSeq], steps: [], hooks: [{ hookId: "h", token }] },
          },
        ]),
        "HOOK_TOKEN_CONFLICT",
      );
      expect((await world.getRun(first.runId))!.status).toBe("failed");
    });

    test("step rows follow created, started, retrying, completed and failed", async () => {
      const run = await newRun();
      await world.append(run.runId, 1, [{ type: "run_started" }, step("s1", "step//./m//one"), step("s2")]);
      expect(await world.getStep(run.runId, "s1")).toMatchObject({
        runId: run.runId,
        stepId: "s1",
        stepName: "step//./m//one",
        status: "pending",
        attempt: 0,
        input: '["s1"]',
      });
      await push(run.runId, { type: "step_started", correlationId: "s1", data: { attempt: 1 } });
      expect(await world.getStep(run.runId, "s1")).toMatchObject({ status: "running", attempt: 1 });
      const retryAt = Date.now() + 60_000;
      await push(run.runId, {
        type: "step_retrying",
        correlationId: "s1",
        data: { attempt: 1, error: "x", retryAt },
      });
      expect(await world.getStep(run.runId, "s1")).toMatchObject({
        status: "retrying",
        attempt: 1,
        error: "x",
        retryAt,
      });
      await push(run.runId, { type: "step_started", correlationId: "s1", data: { attempt: 2 } });
      const s1 = await world.getStep(run.runId, "s1");
      expect(s1).toMatchObject({ status: "running", attempt: 2 });
      expect(s1!.retryAt).toBeUndefined();
      const done = await push(run.runId, {
        type: "step_completed",
        correlationId: "s1",
        data: { output: "42" },
      });
      expect(await world.getStep(run.runId, "s1")).toMatchObject({
        status: "completed",
        output: "42",
        attempt: 2,
        completedAt: done.events[0]!.createdAt,
      });
      await push(
        run.runId,
        { type: "step_started", correlationId: "s2", data: { attempt: 1 } },
        { type: "step_failed", correlationId: "s2", data: { error: "fatal" } },
      );
      expect(await world.getStep(run.runId, "s2")).toMatchObject({ status: "failed", error: "fatal" });
      expect((await world.listSteps(run.runId)).map((s) => s.stepId).sort()).toEqual(["s1", "s2"]);
      expect(await world.getStep(run.runId, "nope")).toBeUndefined();
    });

    test("wait rows follow wait_created and wait_completed", async () => {
      const run = await newRun();
      const resumeAt = Date.now() + 5_000;
      await push(run.runId, { type: "wait_created", correlationId: "w1", data: { resumeAt } });
      expect(await world.listWaits(run.runId)).toEqual([
        expect.objectContaining({ runId: run.runId, waitId: "w1", resumeAt, status: "waiting" }),
      ]);
      expect((await world.getRun(run.runId))!.wakeAt).toBe(resumeAt);
      await push(run.runId, { type: "wait_completed", correlationId: "w1" });
      const [wait] = await world.listWaits(run.runId);
      expect(wait).toMatchObject({ status: "completed" });
      expect(wait!.completedAt).toBeDefined();
      expect((await world.getRun(run.runId))!.wakeAt).toBeUndefined();
    });

    test("hook rows follow hook_created, hook_received and hook_disposed", async () => {
      const run = await newRun();
      await push(run.runId, {
        type: "hook_created",
        correlationId: "h1",
        data: {
          token: "tok-rows",
          metadata: '{"m":1}',
          kind: "webhook",
          options: '{"respondWith":"manual"}',
        },
      });
      const expected = {
        runId: run.runId,
        hookId: "h1",
        token: "tok-rows",
        kind: "webhook",
        metadata: '{"m":1}',
        options: '{"respondWith":"manual"}',
        status: "active",
      };
      expect(await world.listHooks(run.runId)).toEqual([expect.objectContaining(expected)]);
      expect(await world.getHookByToken("tok-rows")).toMatchObject(expected);
      await push(run.runId, { type: "hook_received", correlationId: "h1", data: { payload: "p" } });
      expect(await world.getHookByToken("tok-rows")).toMatchObject({ status: "active" });
      await push(run.runId, { type: "hook_disposed", correlationId: "h1" });
      const [hook] = await world.listHooks(run.runId);
      expect(hook).toMatchObject({ status: "disposed" });
      expect(hook!.disposedAt).toBeDefined();
      expect(await world.getHookByToken("tok-rows")).toBeUndefined();
      const plain = await push(run.runId, {
        type: "hook_created",
        correlationId: "h2",
        data: { token: "t2" },
      });
      expect(plain.run.lastSeq).toBe(5);
      expect(await world.getHookByToken("t2")).toMatchObject({ kind: "hook", hookId: "h2" });
    });

    // ---------------------------------------------------------------- hook tokens

    test("a token held by a live hook is refused with HookTokenConflictError", async () => {
      const a = await newRun();
      const b = await newRun();
      await push(a.runId, { type: "hook_created", correlationId: "h", data: { token: "shared" } });
      let error: unknown;
      try {
        await push(
          b.runId,
          { type: "step_created", correlationId: "s", data: { stepName: "x", input: "[]" } },
          {
            type: "hook_created",
            correlationId: "h",
            data: { token: "shared" },
          },
        );
      } catch (e) {
        error = e;
      }
      expect(isWorldError(error, "HOOK_TOKEN_CONFLICT")).toBe(true);
      expect(error).toMatchObject({ token: "shared", holderRunId: a.runId });
      // The refused batch wrote nothing, not even its first event.
      expect((await world.getRun(b.runId))!.lastSeq).toBe(1);
      // The same run cannot take it twice either.
      await expectCode(
        push(a.runId, { type: "hook_created", correlationId: "h2", data: { token: "shared" } }),
        "HOOK_TOKEN_CONFLICT",
      );
    });

    test("a token is free again after hook_disposed", async () => {
      const a = await newRun();
      const b = await newRun();
      await push(a.runId, { type: "hook_created", correlationId: "h", data: { token: "reuse" } });
      await push(a.runId, { type: "hook_disposed", correlationId: "h" });
      await push(b.runId, { type: "hook_created", correlationId: "h", data: { token: "reuse" } });
      expect(await world.getHookByToken("reuse")).toMatchObject({ runId: b.runId });
    });

    test("a token is free again after its run ends", async () => {
      for (const end of ["run_completed", "run_failed", "run_cancelled"] as const) {
        const a = await newRun();
        await push(a.runId, { type: "hook_created", correlationId: "h", data: { token: `end-${end}` } });
        const data = end === "run_completed" ? { output: "" } : end === "run_failed" ? { error: "" } : {};
        await push(a.runId, { type: end, data } as NewEvent);
        expect(await world.getHookByToken(`end-${end}`)).toBeUndefined();
        const b = await newRun();
        await push(b.runId, { type: "hook_created", correlationId: "h", data: { token: `end-${end}` } });
        expect(await world.getHookByToken(`end-${end}`)).toMatchObject({ runId: b.runId });
      }
    });

    // ---------------------------------------------------------------- leases

    test("a lease is exclusive until it expires", async () => {
      const run = await newRun();
      const lease = await world.acquireLease(run.runId, "A", 10_000);
      expect(lease).toMatchObject({ runId: run.runId, owner: "A" });
      expect(lease!.expiresAt).toBeGreaterThan(Date.now() + 5_000);
      expect(await world.acquireLease(run.runId, "B", 10_000)).toBeUndefined();
      const other = await newRun();
      expect(await world.acquireLease(other.runId, "B", 10_000)).toBeDefined();
    });

    test("re-acquiring or renewing a held lease keeps its token and extends it", async () => {
      const run = await newRun();
      const lease = (await world.acquireLease(run.runId, "A", 1_000))!;
      const again = (await world.acquireLease(run.runId, "A", 10_000))!;
      expect(again.token).toBe(lease.token);
      expect(again.expiresAt).toBeGreaterThan(lease.expiresAt);
      const renewed = (await world.renewLease(again, 20_000))!;
      expect(renewed).toMatchObject({ runId: run.runId, owner: "A", token: lease.token });
      expect(renewed.expiresAt).toBeGreaterThan(again.expiresAt);
    });

    test("an expired lease is taken over with a larger fencing token", async () => {
      const run = await newRun();
      const a = (await world.acquireLease(run.runId, "A", LEASE_TTL_MS))!;
      expect(await world.acquireLease(run.runId, "B", 10_000)).toBeUndefined();
      await sleep(LEASE_TTL_MS + 200);
      const b = (await world.acquireLease(run.runId, "B", 10_000))!;
      expect(b.owner).toBe("B");
      expect(b.token).toBeGreaterThan(a.token);
      expect(await world.renewLease(a, 10_000)).toBeUndefined();
      // The old holder's release must not free the new holder's lease.
      await world.releaseLease(a);
      expect(await world.acquireLease(run.runId, "C", 10_000)).toBeUndefined();
    });

    test("a released lease can be taken at once, with a larger token", async () => {
      const run = await newRun();
      const a = (await world.acquireLease(run.runId, "A", 60_000))!;
      await world.releaseLease(a);
      expect(await world.renewLease(a, 1_000)).toBeUndefined();
      const b = (await world.acquireLease(run.runId, "B", 60_000))!;
      expect(b.token).toBeGreaterThan(a.token);
      await world.releaseLease(b);
      const a2 = (await world.acquireLease(run.runId, "A", 60_000))!;
      expect(a2.token).toBeGreaterThan(b.token);
    });

    test("append with a held lease succeeds; with a lost or expired lease it is refused with LeaseLostError", async () => {
      const run = await newRun();
      const a = (await world.acquireLease(run.runId, "A", LEASE_TTL_MS))!;
      await world.append(run.runId, 1, [{ type: "run_started" }], { lease: a });
      await sleep(LEASE_TTL_MS + 200);
      // Expired, even though nobody took it yet.
      await expectCode(world.append(run.runId, 2, [step("s1")], { lease: a }), "LEASE_LOST");
      const b = (await world.acquireLease(run.runId, "B", 10_000))!;
      await expectCode(world.append(run.runId, 2, [step("s1")], { lease: a }), "LEASE_LOST");
      await world.append(run.runId, 2, [step("s1")], { lease: b });
      await world.releaseLease(b);
      await expectCode(world.append(run.runId, 3, [step("s2")], { lease: b }), "LEASE_LOST");
      // Appends without a lease (a hook payload from a request handler) are always allowed.
      await world.append(run.runId, 3, [step("s2")]);
      expect((await world.getRun(run.runId))!.lastSeq).toBe(4);
    });

    test("createRun with a lease: the creator holds it (or the world says it took none)", async () => {
      const { run, lease } = await world.createRun({
        workflowName: "wf",
        input: "[]",
        lease: { owner: "A", ttlMs: 60_000 },
      });
      // Taking the lease with the run is optional for a world; the engine then calls acquireLease.
      const held = lease ?? (await world.acquireLease(run.runId, "A", 60_000))!;
      expect(held).toMatchObject({ runId: run.runId, owner: "A" });
      expect(held.expiresAt).toBeGreaterThan(Date.now() + 30_000);
      expect(await world.acquireLease(run.runId, "B", 60_000)).toBeUndefined();
      await world.append(run.runId, 1, [{ type: "run_started" }], { lease: held });
      await world.releaseLease(held);
      const b = (await world.acquireLease(run.runId, "B", 60_000))!;
      expect(b.token).toBeGreaterThan(held.token);
    });

    test("concurrent acquirers of a free lease: exactly one wins", async () => {
      const run = await newRun();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => world.acquireLease(run.runId, `owner-${i}`, 10_000)),
      );
      expect(results.filter((l) => l !== undefined)).toHaveLength(1);
    });

    // ---------------------------------------------------------------- wake-ups

    test("listAbandoned lists unfinished runs whose lease expired while held, not released, finished or live ones", async () => {
      const abandoned = await newRun();
      const released = await newRun();
      const live = await newRun();
      const finished = await newRun();
      const retaken = await newRun();
      await world.acquireLease(abandoned.runId, "dead", LEASE_TTL_MS);
      const rel = (await world.acquireLease(released.runId, "A", LEASE_TTL_MS))!;
      await world.releaseLease(rel);
      await world.acquireLease(finished.runId, "dead", LEASE_TTL_MS);
      await push(finished.runId, { type: "run_completed", data: { output: "" } });
      await world.acquireLease(retaken.runId, "dead", LEASE_TTL_MS);
      expect(await world.listAbandoned(Date.now())).toEqual([]);
      await sleep(LEASE_TTL_MS + 100);
      await world.acquireLease(live.runId, "alive", 60_000);
      await world.acquireLease(retaken.runId, "B", 60_000);
      const listed = await world.listAbandoned(Date.now());
      expect(listed.map((r) => r.runId)).toEqual([abandoned.runId]);
      expect(listed[0]!.expiredAt).toBeLessThanOrEqual(Date.now());
      expect(await world.listAbandoned(listed[0]!.expiredAt - 1)).toEqual([]);
    });

    test("listDue returns due runs earliest first, not future or finished ones", async () => {
      const now = Date.now();
      const r1 = await newRun();
      const r2 = await newRun();
      const r3 = await newRun();
      const r4 = await newRun();
      await push(r1.runId, { type: "wait_created", correlationId: "w", data: { resumeAt: now - 100 } });
      await push(r2.runId, { type: "wait_created", correlationId: "w", data: { resumeAt: now - 500 } });
      await push(r3.runId, { type: "wait_created", correlationId: "w", data: { resumeAt: now + 60_000 } });
      await push(
        r4.runId,
        { type: "wait_created", correlationId: "w", data: { resumeAt: now - 1_000 } },
        { type: "run_cancelled", data: {} },
      );
      const due = await world.listDue(now);
      expect(due).toEqual([
        { runId: r2.runId, wakeAt: now - 500 },
        { runId: r1.runId, wakeAt: now - 100 },
      ]);
      expect(await world.listDue(now, 1)).toEqual([{ runId: r2.runId, wakeAt: now - 500 }]);
      expect((await world.listDue(now + 60_000)).map((d) => d.runId)).toEqual([r2.runId, r1.runId, r3.runId]);
    });

    test("step_retrying.retryAt is a wake-up until the next step_started", async () => {
      const now = Date.now();
      const run = await newRun();
      await push(
        run.runId,
        step("s"),
        { type: "step_started", correlationId: "s", data: { attempt: 1 } },
        {
          type: "step_retrying",
          correlationId: "s",
          data: { attempt: 1, error: "x", retryAt: now - 10 },
        },
      );
      expect(await world.listDue(now)).toEqual([{ runId: run.runId, wakeAt: now - 10 }]);
      expect((await world.getRun(run.runId))!.wakeAt).toBe(now - 10);
      await push(run.runId, { type: "step_started", correlationId: "s", data: { attempt: 2 } });
      expect(await world.listDue(now)).toEqual([]);
      expect((await world.getRun(run.runId))!.wakeAt).toBeUndefined();
    });

    test("wait_completed clears the wake-up; the earliest pending one wins", async () => {
      const now = Date.now();
      const run = await newRun();
      await push(
        run.runId,
        { type: "wait_created", correlationId: "w1", data: { resumeAt: now - 50 } },
        { type: "wait_created", correlationId: "w2", data: { resumeAt: now + 50_000 } },
      );
      expect(await world.listDue(now)).toEqual([{ runId: run.runId, wakeAt: now - 50 }]);
      await push(run.runId, { type: "wait_completed", correlationId: "w1" });
      expect(await world.listDue(now)).toEqual([]);
      expect((await world.getRun(run.runId))!.wakeAt).toBe(now + 50_000);
    });

    test("nextWakeAt is the earliest pending wake-up of unfinished runs", async () => {
      expect(await world.nextWakeAt()).toBeUndefined();
      const now = Date.now();
      const a = await newRun();
      const b = await newRun();
      await push(a.runId, { type: "wait_created", correlationId: "w", data: { resumeAt: now + 9_000 } });
      await push(b.runId, { type: "wait_created", correlationId: "w", data: { resumeAt: now + 3_000 } });
      expect(await world.nextWakeAt()).toBe(now + 3_000);
      await push(b.runId, { type: "run_completed", data: { output: "" } });
      expect(await world.nextWakeAt()).toBe(now + 9_000);
      await push(a.runId, { type: "wait_completed", correlationId: "w" });
      expect(await world.nextWakeAt()).toBeUndefined();
    });

    // ---------------------------------------------------------------- listing

    test("listRuns pages newest first and covers every run exactly once", async () => {
      const created: string[] = [];
      for (let i = 0; i < 23; i++) {
        created.push((await newRun(i % 2 ? "wf-odd" : "wf-even")).runId);
        if (i % 5 === 0) await sleep(2); // mixes same-millisecond and distinct timestamps
      }
      const seen: RunRecord[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await world.listRuns({ limit: 5, cursor });
        expect(page.items.length).toBeLessThanOrEqual(5);
        seen.push(...page.items);
        cursor = page.nextCursor;
        pages++;
        // A run created between pages must not shift later pages.
        if (pages === 2) await newRun("wf-late");
      } while (cursor);
      const ids = seen.map((r) => r.runId).filter((id) => created.includes(id));
      expect(new Set(ids).size).toBe(23);
      expect(ids).toHaveLength(23);
      for (let i = 1; i < seen.length; i++) {
        const a = seen[i - 1]!;
        const b = seen[i]!;
        expect(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.runId > b.runId)).toBe(true);
      }
      expect((await world.listRuns()).items.length).toBe(24);
    });

    test("listRuns filters by status and workflowName", async () => {
      const a = await newRun("wf-a");
      const b = await newRun("wf-b");
      const c = await newRun("wf-a");
      await push(b.runId, { type: "run_started" });
      await push(c.runId, { type: "run_completed", data: { output: "" } });
      const ids = async (q: Parameters<World["listRuns"]>[0]) =>
        (await world.listRuns(q)).items.map((r) => r.runId);
      expect(await ids({ workflowName: "wf-a" })).toEqual([c.runId, a.runId].sort().reverse());
      expect(await ids({ status: "running" })).toEqual([b.runId]);
      expect((await ids({ status: ["pending", "completed"] })).sort()).toEqual([a.runId, c.runId].sort());
      expect(await ids({ status: "pending", workflowName: "wf-a" })).toEqual([a.runId]);
      expect(await ids({ status: "failed" })).toEqual([]);
      const page = await world.listRuns({ workflowName: "wf-a", limit: 1 });
      expect(page.items).toHaveLength(1);
      const rest = await world.listRuns({ workflowName: "wf-a", limit: 1, cursor: page.nextCursor });
      expect(rest.items).toHaveLength(1);
      expect(rest.nextCursor).toBeUndefined();
    });

    test("listUnfinished lists pending and running runs, paged", async () => {
      const p = await newRun();
      const r = await newRun();
      const done = await newRun();
      await push(r.runId, { type: "run_started" });
      await push(done.runId, { type: "run_failed", data: { error: "" } });
      const first = await world.listUnfinished(1);
      expect(first.items).toHaveLength(1);
      const second = await world.listUnfinished(1, first.nextCursor);
      expect(second.nextCursor).toBeUndefined();
      expect([...first.items, ...second.items].map((x) => x.runId).sort()).toEqual([p.runId, r.runId].sort());
    });

    // ---------------------------------------------------------------- notifications

    test("subscribe notifies on create, append and finish (all runs and one run)", async () => {
      const all: RunNotification[] = [];
      const offAll = world.subscribe((n) => all.push(n));
      const run = await newRun();
      const one: RunNotification[] = [];
      const offOne = world.subscribe((n) => one.push(n), run.runId);
      const other = await newRun();
      await push(run.runId, { type: "run_started" });
      await push(other.runId, { type: "run_started" });
      await push(run.runId, { type: "run_completed", data: { output: "" } });

      expect(all).toContainEqual({ runId: run.runId, kind: "created", lastSeq: 1, status: "pending" });
      expect(all).toContainEqual({ runId: other.runId, kind: "created", lastSeq: 1, status: "pending" });
      expect(all).toContainEqual({ runId: run.runId, kind: "appended", lastSeq: 2, status: "running" });
      expect(all).toContainEqual({ runId: run.runId, kind: "finished", lastSeq: 3, status: "completed" });
      expect(one.every((n) => n.runId === run.runId)).toBe(true);
      expect(one).toContainEqual({ runId: run.runId, kind: "appended", lastSeq: 2, status: "running" });
      expect(one).toContainEqual({ runId: run.runId, kind: "finished", lastSeq: 3, status: "completed" });

      offAll();
      offOne();
      const before = [all.length, one.length];
      const late = await newRun();
      await push(late.runId, { type: "run_started" });
      await push(late.runId, { type: "run_cancelled", data: {} });
      await sleep(50);
      expect([all.length, one.length]).toEqual(before);
    });

    test("a throwing subscriber cannot break an append", async () => {
      const seen: RunNotification[] = [];
      const originalError = console.error;
      console.error = () => {};
      try {
        world.subscribe(() => {
          throw new Error("listener bug");
        });
        world.subscribe((n) => seen.push(n));
        const run = await newRun();
        const res = await world.append(run.runId, 1, [{ type: "run_started" }]);
        expect(res.run.lastSeq).toBe(2);
        expect(seen.some((n) => n.kind === "appended" && n.runId === run.runId)).toBe(true);
      } finally {
        console.error = originalError;
      }
    });

    // ---------------------------------------------------------------- deliveries (events from outside a run)

    /** A run waiting on hook `h1`, as the engine leaves it before a payload arrives. */
    const runWithHook = async (token = `tok-${Math.random().toString(36).slice(2)}`) => {
      const run = await newRun();
      await push(
        run.runId,
        { type: "run_started" },
        { type: "hook_created", correlationId: "h1", data: { token } },
      );
      return (await world.getRun(run.runId))!;
    };
    const payload = (deliveryId: string, correlationId = "h1") => ({
      deliveryId,
      event: { type: "hook_received" as const, correlationId, data: { payload: `"${deliveryId}"` } },
    });

    test("deliveries: deliver records a pending delivery outside the log; the append naming it consumes it", async () => {
      const run = await runWithHook();
      const heard: RunNotification[] = [];
      world.subscribe((n) => heard.push(n), run.runId);
      const before = Date.now();
      const { delivery, duplicate } = await world.deliver(run.runId, payload("d1"));
      expect(duplicate).toBe(false);
      expect(delivery).toMatchObject({ runId: run.runId, ...payload("d1") });
      expect(delivery.createdAt).toBeGreaterThanOrEqual(before - 1000);
      // The log and the run row are untouched: the lease holder's next append still fits.
      expect((await world.getRun(run.runId))!.lastSeq).toBe(run.lastSeq);
      expect(await world.readEvents(run.runId, { afterSeq: run.lastSeq })).toEqual([]);
      expect(await world.listDeliveries(run.runId)).toEqual([delivery]);
      await until(() => heard.some((n) => n.kind === "delivered"));
      expect(heard.find((n) => n.kind === "delivered")).toMatchObject({
        runId: run.runId,
        lastSeq: run.lastSeq,
      });

      await world.append(run.runId, run.lastSeq, [
        { type: "hook_received", correlationId: "h1", data: { payload: '"d1"', deliveryId: "d1" } },
      ]);
      expect(await world.listDeliveries(run.runId)).toEqual([]);
    });

    test("deliveries: pending ones are listed in the order recorded; an append consumes only those it names", async () => {
      const run = await runWithHook();
      for (const id of ["a", "b", "c"]) await world.deliver(run.runId, payload(id));
      expect((await world.listDeliveries(run.runId)).map((d) => d.deliveryId)).toEqual(["a", "b", "c"]);
      await world.append(run.runId, run.lastSeq, [
        { type: "hook_received", correlationId: "h1", data: { payload: '"b"', deliveryId: "b" } },
        { type: "hook_received", correlationId: "h1", data: { payload: '"direct"' } },
      ]);
      expect((await world.listDeliveries(run.runId)).map((d) => d.deliveryId)).toEqual(["a", "c"]);
    });

    test("deliveries: recording an ID again, pending or consumed, stores nothing new", async () => {
      const run = await runWithHook();
      const first = await world.deliver(run.runId, payload("same"));
      const again = await world.deliver(run.runId, payload("same"));
      expect(again.duplicate).toBe(true);
      expect(again.delivery).toEqual(first.delivery);
      expect(await world.listDeliveries(run.runId)).toHaveLength(1);
      await world.append(run.runId, run.lastSeq, [
        { type: "hook_received", correlationId: "h1", data: { payload: '"same"', deliveryId: "same" } },
      ]);
      expect((await world.deliver(run.runId, payload("same"))).duplicate).toBe(true);
      expect(await world.listDeliveries(run.runId)).toEqual([]);
    });

    test("deliveries: concurrent deliveries are each recorded once", async () => {
      const run = await runWithHook();
      const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
      const results = await Promise.all(
        [...ids, ...ids.slice(0, 5)].map((id) => world.deliver(run.runId, payload(id))),
      );
      expect(results.filter((r) => !r.duplicate)).toHaveLength(20);
      const pending = await world.listDeliveries(run.runId);
      expect(pending.map((d) => d.deliveryId).sort()).toEqual([...ids].sort());
    });

    test("deliveries: need no lease and never refuse or conflict with the lease holder's appends", async () => {
      const run = await runWithHook();
      const lease = (await world.acquireLease(run.runId, "executor", 60_000))!;
      let seq = run.lastSeq;
      for (let i = 0; i < 5; i++) {
        const [, appended] = await Promise.all([
          world.deliver(run.runId, payload(`x${i}`)),
          world.append(run.runId, seq, [step(`s${i}`)], { lease }),
        ]);
        seq = appended.run.lastSeq;
      }
      expect((await world.getRun(run.runId))!.lastSeq).toBe(run.lastSeq + 5);
      expect(await world.listDeliveries(run.runId)).toHaveLength(5);
      // Still the holder's: a delivery takes nothing.
      expect(await world.acquireLease(run.runId, "other", 60_000)).toBeUndefined();
    });

    test("deliveries: refused for an unknown or finished run, and when malformed", async () => {
      await expectCode(world.deliver("wrun_missing", payload("d")), "RUN_NOT_FOUND");
      await expectCode(world.listDeliveries("wrun_missing"), "RUN_NOT_FOUND");
      const run = await runWithHook();
      await expectCode(world.deliver(run.runId, { ...payload("d"), deliveryId: "" }), "INVALID_EVENT");
      await expectCode(
        world.deliver(run.runId, { deliveryId: "d", event: { type: "run_cancelled" } as never }),
        "INVALID_EVENT",
      );
      await expectCode(world.deliver(run.runId, payload("d", "")), "INVALID_EVENT");
      await world.deliver(run.runId, payload("left"));
      await push(run.runId, { type: "run_cancelled", data: {} });
      await expectCode(world.deliver(run.runId, payload("late")), "RUN_FINISHED");
      // Nothing will consume what a finished run had pending.
      expect(await world.listDeliveries(run.runId)).toEqual([]);
      expect((await world.listDeliveryRuns(Date.now() + 60_000)).map((r) => r.runId)).not.toContain(
        run.runId,
      );
    });

    test("deliveries: listDeliveryRuns lists unfinished runs with old enough pending deliveries, oldest first", async () => {
      const a = await runWithHook();
      const b = await runWithHook();
      const c = await runWithHook();
      await world.deliver(b.runId, payload("b1"));
      await sleep(5);
      await world.deliver(a.runId, payload("a1"));
      await world.deliver(c.runId, payload("c1"));
      await world.append(c.runId, c.lastSeq, [
        { type: "hook_received", correlationId: "h1", data: { payload: '"c1"', deliveryId: "c1" } },
      ]);
      const later = Date.now() + 60_000;
      const listed = await world.listDeliveryRuns(later);
      expect(listed.map((r) => r.runId)).toEqual([b.runId, a.runId]);
      expect(listed[0]!.since).toBeLessThanOrEqual(listed[1]!.since);
      expect(await world.listDeliveryRuns(later, 1)).toHaveLength(1);
      expect(await world.listDeliveryRuns(listed[0]!.since - 1)).toEqual([]);
    });

    test("deliveries: another instance over the same storage records one the first hears and consumes", async (ctx) => {
      if (!subject.concurrent)
        return ctx.skip("this world is not shared between instances (no concurrent given)");
      const other = await subject.concurrent();
      extraWorlds.push(other);
      const run = await runWithHook();
      const lease = (await world.acquireLease(run.runId, "executor", 60_000))!;
      const heard: RunNotification[] = [];
      world.subscribe((n) => heard.push(n), run.runId);
      await other.deliver(run.runId, payload("remote"));
      await until(() => heard.some((n) => n.kind === "delivered"), 5_000);
      const [pending] = await world.listDeliveries(run.runId);
      expect(pending).toMatchObject(payload("remote"));
      await world.append(
        run.runId,
        run.lastSeq,
        [{ type: "hook_received", correlationId: "h1", data: { payload: '"remote"', deliveryId: "remote" } }],
        { lease },
      );
      expect(await other.listDeliveries(run.runId)).toEqual([]);
      expect((await other.deliver(run.runId, payload("remote"))).duplicate).toBe(true);
    });

    test("deliveries: pending ones survive close and reopen", async (ctx) => {
      if (!subject.reopen) return ctx.skip("this world keeps nothing across instances (no reopen given)");
      const run = await runWithHook();
      await world.deliver(run.runId, payload("kept"));
      await world.deliver(run.runId, payload("used"));
      await world.append(run.runId, run.lastSeq, [
        { type: "hook_received", correlationId: "h1", data: { payload: '"used"', deliveryId: "used" } },
      ]);
      await world.close();
      const again = await subject.reopen();
      extraWorlds.push(again);
      expect((await again.listDeliveries(run.runId)).map((d) => d.deliveryId)).toEqual(["kept"]);
      expect((await again.deliver(run.runId, payload("used"))).duplicate).toBe(true);
      expect((await again.listDeliveryRuns(Date.now() + 60_000)).map((r) => r.runId)).toEqual([run.runId]);
    });

    // ---------------------------------------------------------------- streams (optional World methods)

    /** Streams are optional: a world without them has its stream cases reported as skipped, not failed. */
    const streamsOf = (w: World, ctx: TestContext) => {
      if (!w.writeStream || !w.readStream || !w.subscribeStream) {
        ctx.skip("this world has no streams (writeStream/readStream/subscribeStream are optional)");
      }
      return w as World & Required<Pick<World, "writeStream" | "readStream" | "subscribeStream">>;
    };

    test("streams: chunks are numbered from 0 and read from any offset, with a limit", async (ctx) => {
      const w = streamsOf(world, ctx);
      const run = await newRun();
      expect(await w.readStream(run.runId, "default")).toEqual({ chunks: [], closed: false });
      expect(await w.writeStream(run.runId, "default", ["a", "b"])).toEqual({ nextIndex: 2 });
      expect(await w.writeStream(run.runId, "default", ["c"])).toEqual({ nextIndex: 3 });
      expect(await w.readStream(run.runId, "default")).toEqual({
        chunks: [
          { index: 0, data: "a" },
          { index: 1, data: "b" },
          { index: 2, data: "c" },
        ],
        closed: false,
      });
      expect(await w.readStream(run.runId, "default", { startIndex: 1, limit: 1 })).toEqual({
        chunks: [{ index: 1, data: "b" }],
        closed: false,
      });
      expect((await w.readStream(run.runId, "default", { startIndex: 3 })).chunks).toEqual([]);
      // Namespaces are separate streams.
      await w.writeStream(run.runId, "logs", ["x"]);
      expect((await w.readStream(run.runId, "logs")).chunks).toEqual([{ index: 0, data: "x" }]);
      expect((await w.readStream(run.runId, "default")).chunks).toHaveLength(3);
    });

    test("streams: close ends a stream and later writes are refused with STREAM_CLOSED", async (ctx) => {
      const w = streamsOf(world, ctx);
      const run = await newRun();
      await w.writeStream(run.runId, "s", ["1"], { close: true });
      expect(await w.readStream(run.runId, "s")).toEqual({ chunks: [{ index: 0, data: "1" }], closed: true });
      await expectCode(w.writeStream(run.runId, "s", ["2"]), "STREAM_CLOSED");
      // Closing with no chunks, and after the run ended (a stream may outlive the run's last event).
      await w.writeStream(run.runId, "t", ["a"]);
      await push(run.runId, { type: "run_completed", data: { output: "o" } });
      await w.writeStream(run.runId, "t", ["b"]);
      await w.writeStream(run.runId, "t", [], { close: true });
      expect(await w.readStream(run.runId, "t")).toMatchObject({ closed: true, chunks: [{}, {}] });
    });

    test("streams: subscribeStream hears writes and the close of that stream only", async (ctx) => {
      const w = streamsOf(world, ctx);
      const run = await newRun();
      let heard = 0;
      let other = 0;
      const off = w.subscribeStream(run.runId, "s", () => heard++);
      const offOther = w.subscribeStream(run.runId, "other", () => other++);
      await w.writeStream(run.runId, "s", ["a"]);
      await w.writeStream(run.runId, "s", [], { close: true });
      for (let i = 0; i < 50 && heard < 2; i++) await sleep(10);
      expect(heard).toBeGreaterThanOrEqual(2);
      expect(other).toBe(0);
      off();
      offOther();
    });

    test("streams: an unknown run is refused with RunNotFoundError", async (ctx) => {
      const w = streamsOf(world, ctx);
      await expectCode(w.writeStream("wrun_missing", "s", ["a"]), "RUN_NOT_FOUND");
      await expectCode(w.readStream("wrun_missing", "s"), "RUN_NOT_FOUND");
    });

    test("streams: listStreams names every stream of the run with its chunk count and closed flag", async (ctx) => {
      const w = streamsOf(world, ctx);
      if (!w.listStreams) return ctx.skip("this world does not list streams (listStreams is optional)");
      const run = await newRun();
      const other = await newRun();
      expect(await w.listStreams(run.runId)).toEqual([]);
      await w.writeStream(run.runId, "logs", ["a", "b"]);
      await w.writeStream(run.runId, "default", ["x"], { close: true });
      await w.writeStream(run.runId, "empty", [], { close: true });
      await w.writeStream(other.runId, "theirs", ["z"]);
      expect(await w.listStreams(run.runId)).toEqual([
        { name: "default", chunks: 1, closed: true },
        { name: "empty", chunks: 0, closed: true },
        { name: "logs", chunks: 2, closed: false },
      ]);
      await expectCode(w.listStreams("wrun_missing"), "RUN_NOT_FOUND");
      if (subject.concurrent) {
        // Another process sees the same list (the CLI reads streams of an app that runs).
        const second = await subject.concurrent();
        extraWorlds.push(second);
        expect((await second.listStreams!(run.runId)).map((s) => s.name)).toEqual([
          "default",
          "empty",
          "logs",
        ]);
      }
    });

    test("streams: chunks and the close survive close and reopen", async (ctx) => {
      const w = streamsOf(world, ctx);
      if (!subject.reopen) return ctx.skip("this world keeps nothing across instances (no reopen given)");
      const run = await newRun();
      await w.writeStream(run.runId, "s", ["a", "b"], { close: true });
      await w.writeStream(run.runId, "open", ["z"]);
      await world.close();
      const again = await subject.reopen();
      extraWorlds.push(again);
      expect(await again.readStream!(run.runId, "s")).toEqual({
        chunks: [
          { index: 0, data: "a" },
          { index: 1, data: "b" },
        ],
        closed: true,
      });
      expect(await again.writeStream!(run.runId, "open", ["y"])).toEqual({ nextIndex: 2 });
    });

    // ---------------------------------------------------------------- schedules and events (optional World methods)

    /** Schedules and events are optional: a world without them has these cases reported as skipped, not failed. */
    const schedulesIn = (w: World, ctx: TestContext) => {
      const store = schedulesOf(w);
      if (!store) ctx.skip("this world has no schedules and events (putSchedule… are optional)");
      return store!;
    };
    const definition = (over: Partial<ScheduleDefinition> = {}): ScheduleDefinition => ({
      name: "nightly",
      workflowName: "workflow//./m//wf",
      cron: "0 3 * * *",
      args: "[]",
      overlap: "skip",
      catchUp: "latest",
      ...over,
    });

    test("schedules: an upsert keeps the pause and the ticks; ticks never move back", async (ctx) => {
      const w = schedulesIn(world, ctx);
      const created = await w.putSchedule(definition({ timezone: "Europe/Berlin" }), 1_000);
      expect(created).toMatchObject({ name: "nightly", paused: false, lastTick: 1_000, createdAt: 1_000 });
      expect(created.timezone).toBe("Europe/Berlin");
      expect((await w.setSchedulePaused("nightly", true))!.paused).toBe(true);
      expect((await w.recordScheduleTick("nightly", 5_000, "wrun_a"))!).toMatchObject({
        lastTick: 5_000,
        lastRunId: "wrun_a",
      });
      // An older tick (another scheduler, late) changes nothing; a skipped tick keeps the last run.
      expect(await w.recordScheduleTick("nightly", 4_000, "wrun_old")).toMatchObject({
        lastTick: 5_000,
        lastRunId: "wrun_a",
      });
      expect(await w.recordScheduleTick("nightly", 6_000)).toMatchObject({
        lastTick: 6_000,
        lastRunId: "wrun_a",
      });
      const updated = await w.putSchedule(definition({ cron: "0 4 * * *", args: '["x"]' }), 9_000);
      expect(updated).toMatchObject({
        cron: "0 4 * * *",
        args: '["x"]',
        paused: true,
        lastTick: 6_000,
        lastRunId: "wrun_a",
        createdAt: 1_000,
        updatedAt: 9_000,
      });
      expect(updated.timezone).toBeUndefined();
      expect(await w.getSchedule("nightly")).toEqual(updated);
      await w.putSchedule(definition({ name: "alpha" }), 2_000);
      expect((await w.listSchedules()).map((r) => r.name)).toEqual(["alpha", "nightly"]);
      expect(await w.deleteSchedule("nightly")).toBe(true);
      expect(await w.deleteSchedule("nightly")).toBe(false);
      expect(await w.getSchedule("nightly")).toBeUndefined();
      expect(await w.setSchedulePaused("nightly", false)).toBeUndefined();
      expect(await w.recordScheduleTick("nightly", 7_000)).toBeUndefined();
      // Recreated after a delete: a new schedule from its new creation time.
      expect(await w.putSchedule(definition(), 8_000)).toMatchObject({ lastTick: 8_000, paused: false });
    });

    test("schedules: event triggers are registered once and listed by event", async (ctx) => {
      const w = schedulesIn(world, ctx);
      await w.putEventTrigger("signup", "workflow//./m//b", 1);
      await w.putEventTrigger("signup", "workflow//./m//a", 2);
      await w.putEventTrigger("signup", "workflow//./m//a", 3);
      await w.putEventTrigger("order.paid", "workflow//./m//a", 4);
      expect((await w.listEventTriggers("signup")).map((t) => t.workflowName)).toEqual([
        "workflow//./m//a",
        "workflow//./m//b",
      ]);
      expect((await w.listEventTriggers("signup"))[0]!.createdAt).toBe(2);
      expect((await w.listEventTriggers()).map((t) => t.event)).toEqual(["order.paid", "signup", "signup"]);
      expect(await w.deleteEventTrigger("signup", "workflow//./m//b")).toBe(true);
      expect(await w.deleteEventTrigger("signup", "workflow//./m//b")).toBe(false);
      expect(await w.listEventTriggers("nothing")).toEqual([]);
    });

    test("schedules: live hooks are found by token prefix, not disposed ones or those of ended runs", async (ctx) => {
      const w = schedulesIn(world, ctx);
      const a = await newRun();
      const b = await newRun();
      await push(
        a.runId,
        { type: "hook_created", correlationId: "h1", data: { token: "wfevent:x:*:a:1" } },
        { type: "hook_created", correlationId: "h2", data: { token: "wfevent:x%25_:*:a:2" } },
        { type: "hook_created", correlationId: "h3", data: { token: "other" } },
      );
      await push(b.runId, { type: "hook_created", correlationId: "h1", data: { token: "wfevent:x:*:b:1" } });
      const tokens = async (prefix: string) => (await w.listHooksByTokenPrefix(prefix)).map((h) => h.token);
      expect(await tokens("wfevent:x:")).toEqual(["wfevent:x:*:a:1", "wfevent:x:*:b:1"]);
      // SQL wildcards in a prefix are matched literally.
      expect(await tokens("wfevent:x%25_:")).toEqual(["wfevent:x%25_:*:a:2"]);
      expect(await tokens("wfevent:x_")).toEqual([]);
      expect(await tokens("wfevent:%")).toEqual([]);
      expect(await w.listHooksByTokenPrefix("wfevent:x:", 1)).toHaveLength(1);
      await push(a.runId, { type: "hook_disposed", correlationId: "h1" });
      await push(b.runId, { type: "run_cancelled", data: {} });
      expect(await tokens("wfevent:")).toEqual(["wfevent:x%25_:*:a:2"]);
    });

    // ---------------------------------------------------------------- step tasks (optional World methods)

    /** Step tasks are optional: a world without them has these cases reported as skipped, not failed. */
    const tasksOf = (w: World, ctx: TestContext) => {
      const tasks = stepTasksOf(w);
      if (!tasks) ctx.skip("this world has no step tasks (offerStepTasks… are optional)");
      return tasks!;
    };
    const task = (runId: string, cid: string, attempt = 1): StepTask => ({
      runId,
      correlationId: cid,
      attempt,
      stepName: "step//./m//s",
      input: `["${cid}"]`,
      runStartedAt: 1_700_000_000_000,
    });
    const done = (output: string): StepTaskOutcome => ({ type: "step_completed", data: { output } });

    test("step tasks: offered tasks are claimed oldest first, completed once, and listed", async (ctx) => {
      const w = tasksOf(world, ctx);
      const run = await newRun();
      const heard: StepTaskNotification[] = [];
      const off = w.subscribeStepTasks((n) => heard.push(n));
      await w.offerStepTasks([task(run.runId, "step_0002"), task(run.runId, "step_0001")]);
      for (let i = 0; i < 50 && heard.length === 0; i++) await sleep(10);
      expect(heard).toContainEqual({ kind: "offered" });

      const [first] = await w.claimStepTasks("A", 60_000, 1);
      expect(first).toMatchObject({ ...task(run.runId, "step_0002"), claim: { owner: "A" } });
      const rest = await w.claimStepTasks("B", 60_000, 10);
      expect(rest.map((t) => t.correlationId)).toEqual(["step_0001"]);
      expect(await w.claimStepTasks("C", 60_000, 10)).toEqual([]);
      expect(rest[0]!.claim.token).not.toBe(first!.claim.token);

      const renewed = await w.renewStepTask(first!, 60_000);
      expect(renewed?.claim.token).toBe(first!.claim.token);
      expect(await w.completeStepTask(first!, done("v"))).toBe(true);
      expect(await w.completeStepTask(first!, done("v"))).toBe(true);
      for (let i = 0; i < 50 && !heard.some((n) => n.kind === "completed"); i++) await sleep(10);
      const completed = heard.filter((n) => n.kind === "completed");
      expect(completed).toEqual([
        expect.objectContaining({ runId: run.runId, correlationId: "step_0002", attempt: 1 }),
      ]);
      // A world may carry the outcome in the notification; if it does, it is the stored one.
      const carried = (completed[0] as { outcome?: StepTaskOutcome }).outcome;
      if (carried !== undefined) expect(carried).toEqual(done("v"));
      off();
      // A completed task is never claimed again.
      expect(await w.claimStepTasks("C", 60_000, 10)).toEqual([]);
      expect(await w.listStepTasks(run.runId)).toEqual([
        expect.objectContaining({ correlationId: "step_0001", status: "claimed", claim: rest[0]!.claim }),
        expect.objectContaining({ correlationId: "step_0002", status: "completed", outcome: done("v") }),
      ]);
      await w.removeStepTasks(run.runId, ["step_0002"]);
      expect((await w.listStepTasks(run.runId)).map((t) => t.correlationId)).toEqual(["step_0001"]);
      await w.removeStepTasks(run.runId);
      expect(await w.listStepTasks(run.runId)).toEqual([]);
    });

    test("step tasks: concurrent claimers never get the same task", async (ctx) => {
      const w = tasksOf(world, ctx);
      const run = await newRun();
      const cids = Array.from({ length: 12 }, (_, i) => `step_${String(i + 1).padStart(4, "0")}`);
      await w.offerStepTasks(cids.map((cid) => task(run.runId, cid)));
      const claims = await Promise.all(
        Array.from({ length: 6 }, (_, i) => w.claimStepTasks(`W${i}`, 60_000, 3)),
      );
      const got = claims.flat().map((t) => t.correlationId);
      expect(new Set(got).size).toBe(got.length);
      expect(got.sort()).toEqual(cids);
    });

    test("step tasks: an expired claim is claimed again, and the old claim can neither renew nor complete", async (ctx) => {
      const w = tasksOf(world, ctx);
      const run = await newRun();
      await w.offerStepTasks([task(run.runId, "step_0001")]);
      const [dead] = await w.claimStepTasks("A", LEASE_TTL_MS, 1);
      expect(await w.claimStepTasks("B", LEASE_TTL_MS, 1)).toEqual([]);
      await sleep(LEASE_TTL_MS + 200);
      const [taken] = await w.claimStepTasks("B", 60_000, 1);
      expect(taken).toMatchObject({ correlationId: "step_0001", attempt: 1, claim: { owner: "B" } });
      expect(await w.renewStepTask(dead!, 60_000)).toBeUndefined();
      expect(await w.completeStepTask(dead!, done("late"))).toBe(false);
      expect(await w.completeStepTask(taken!, done("b"))).toBe(true);
      expect((await w.listStepTasks(run.runId))[0]).toMatchObject({
        status: "completed",
        outcome: done("b"),
      });
    });

    test("step tasks: re-offering an expired claim makes it claimable; an unexpired one stays with its claimer", async (ctx) => {
      const w = tasksOf(world, ctx);
      const run = await newRun();
      await w.offerStepTasks([task(run.runId, "step_0001")]);
      const [claimed] = await w.claimStepTasks("A", LEASE_TTL_MS, 1);
      await w.offerStepTasks([task(run.runId, "step_0001")]);
      expect(await w.claimStepTasks("B", 60_000, 1)).toEqual([]);
      await sleep(LEASE_TTL_MS + 200);
      const heard: StepTaskNotification[] = [];
      const off = w.subscribeStepTasks((n) => heard.push(n));
      await w.offerStepTasks([task(run.runId, "step_0001")]);
      for (let i = 0; i < 50 && heard.length === 0; i++) await sleep(10);
      off();
      expect(heard).toContainEqual({ kind: "offered" });
      const [again] = await w.claimStepTasks("B", 60_000, 1);
      expect(again?.claim.owner).toBe("B");
      expect(again?.claim.token).not.toBe(claimed!.claim.token);
    });

    test("step tasks: a newer attempt replaces the task, an older one is ignored", async (ctx) => {
      const w = tasksOf(world, ctx);
      const run = await newRun();
      await w.offerStepTasks([task(run.runId, "step_0001", 1)]);
      const [first] = await w.claimStepTasks("A", 60_000, 1);
      await w.offerStepTasks([task(run.runId, "step_0001", 2)]);
      expect(await w.completeStepTask(first!, done("stale"))).toBe(false);
      expect(await w.renewStepTask(first!, 60_000)).toBeUndefined();
      await w.offerStepTasks([task(run.runId, "step_0001", 1)]);
      const [second] = await w.claimStepTasks("B", 60_000, 5);
      expect(second).toMatchObject({ correlationId: "step_0001", attempt: 2 });
      expect(await w.listStepTasks(run.runId)).toEqual([
        expect.objectContaining({ attempt: 2, status: "claimed" }),
      ]);
    });

    test("step tasks: tasks of a finished run are not handed out; an unknown run is refused", async (ctx) => {
      const w = tasksOf(world, ctx);
      const run = await newRun();
      const live = await newRun();
      await w.offerStepTasks([task(run.runId, "step_0001"), task(live.runId, "step_0001")]);
      await push(run.runId, { type: "run_cancelled", data: {} });
      const claimed = await w.claimStepTasks("A", 60_000, 10);
      expect(claimed.map((t) => t.runId)).toEqual([live.runId]);
      await expectCode(w.offerStepTasks([task("wrun_missing", "step_0001")]), "RUN_NOT_FOUND");
      await expectCode(w.listStepTasks("wrun_missing"), "RUN_NOT_FOUND");
    });

    // ---------------------------------------------------------------- flow gates (optional World methods)

    /** Flow gates are optional: a world without them has these cases reported as skipped, not failed. */
    const gatesOf = (w: World, ctx: TestContext) => {
      const gates = flowGatesOf(w);
      if (!gates)
        ctx.skip("this world has no flow gates (readFlowGate/updateFlowGate/listFlowGates are optional)");
      return gates!;
    };
    const counter = (current: string | undefined) => {
      const n = current === undefined ? 0 : (JSON.parse(current) as { n: number }).n;
      return { state: JSON.stringify({ n: n + 1 }), result: n + 1 };
    };

    test("flow gates: run_started with input (a debounced run) replaces the run's input, also after reopen", async () => {
      const run = await newRun();
      await push(run.runId, { type: "run_started", data: { input: '["latest"]' } });
      expect((await world.getRun(run.runId))!.input).toBe('["latest"]');
      expect((await world.listRuns()).items.find((r) => r.runId === run.runId)!.input).toBe('["latest"]');
      if (subject.reopen) {
        await world.close();
        const again = await subject.reopen();
        extraWorlds.push(again);
        expect((await again.getRun(run.runId))!.input).toBe('["latest"]');
      }
    });

    test("flow gates: an update stores the state, bumps the version and answers its result", async (ctx) => {
      const w = gatesOf(world, ctx);
      expect(await w.readFlowGate("concurrency:wf:a")).toBeUndefined();
      expect(await w.updateFlowGate("concurrency:wf:a", counter)).toBe(1);
      expect(await w.updateFlowGate("concurrency:wf:a", counter)).toBe(2);
      const gate = await w.readFlowGate("concurrency:wf:a");
      expect(gate).toMatchObject({ gateId: "concurrency:wf:a", state: '{"n":2}', version: 2 });
      expect(gate!.updatedAt).toBeGreaterThan(Date.now() - 60_000);
      // An update that changes nothing answers its result and writes nothing.
      expect(await w.updateFlowGate("concurrency:wf:a", (c) => ({ state: c, result: "same" }))).toBe("same");
      expect((await w.readFlowGate("concurrency:wf:a"))!.version).toBe(2);
      await w.updateFlowGate("throttle:wf:b", counter);
      expect(await w.listFlowGates()).toEqual(["concurrency:wf:a", "throttle:wf:b"]);
      expect(await w.listFlowGates(1)).toEqual(["concurrency:wf:a"]);
    });

    test("flow gates: an undefined state deletes the gate; a throwing update stores nothing", async (ctx) => {
      const w = gatesOf(world, ctx);
      await w.updateFlowGate("g", counter);
      await expect(
        w.updateFlowGate("g", () => {
          throw new Error("refused");
        }),
      ).rejects.toThrow("refused");
      expect((await w.readFlowGate("g"))!.state).toBe('{"n":1}');
      expect(await w.updateFlowGate("g", () => ({ state: undefined, result: "gone" }))).toBe("gone");
      expect(await w.readFlowGate("g")).toBeUndefined();
      expect(await w.listFlowGates()).toEqual([]);
      // A deleted gate starts again from nothing.
      expect(await w.updateFlowGate("g", counter)).toBe(1);
      await expectCode(w.updateFlowGate("", counter), "INVALID_FLOW_GATE");
    });

    test("flow gates: concurrent updates are atomic (no lost update)", async (ctx) => {
      const w = gatesOf(world, ctx);
      const others: World[] = [w];
      if (subject.concurrent) {
        const other = await subject.concurrent();
        extraWorlds.push(other);
        others.push(other);
      }
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          flowGatesOf(others[i % others.length]!)!.updateFlowGate("hot", counter),
        ),
      );
      // Every update saw the one before it: the results are exactly 1..40.
      expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect((await w.readFlowGate("hot"))!.state).toBe('{"n":40}');
    }, 30_000);

    test("flow gates: gates survive close and reopen", async (ctx) => {
      const w = gatesOf(world, ctx);
      if (!subject.reopen) return ctx.skip("this world keeps nothing across instances (no reopen given)");
      await w.updateFlowGate("kept", counter);
      await w.updateFlowGate("kept", counter);
      await world.close();
      const again = await subject.reopen();
      extraWorlds.push(again);
      const gates = flowGatesOf(again)!;
      expect(await gates.readFlowGate("kept")).toMatchObject({ state: '{"n":2}', version: 2 });
      expect(await gates.updateFlowGate("kept", counter)).toBe(3);
    });

    // ---------------------------------------------------------------- durability

    test("data survives close and reopen", async (ctx) => {
      if (!subject.reopen) return ctx.skip("this world keeps nothing across instances (no reopen given)");
      const now = Date.now();
      const run = await newRun("wf-durable");
      await push(
        run.runId,
        { type: "run_started" },
        step("s1"),
        { type: "step_started", correlationId: "s1", data: { attempt: 1 } },
        { type: "step_completed", correlationId: "s1", data: { output: "v" } },
        { type: "wait_created", correlationId: "w1", data: { resumeAt: now - 5 } },
        { type: "hook_created", correlationId: "h1", data: { token: "durable-token" } },
      );
      const done = await newRun("wf-durable");
      await push(done.runId, { type: "run_completed", data: { output: "o" } });
      const events = await world.readEvents(run.runId);
      const rowBefore = await world.getRun(run.runId);
      expect(await world.acquireLease(run.runId, "A", 60_000)).toBeDefined();
      await world.close();

      const again = await subject.reopen();
      extraWorlds.push(again);
      expect(await again.readEvents(run.runId)).toEqual(events);
      expect(await again.getRun(run.runId)).toEqual(rowBefore);
      expect(await again.getStep(run.runId, "s1")).toMatchObject({ status: "completed", output: "v" });
      expect(await again.listWaits(run.runId)).toEqual([
        expect.objectContaining({ waitId: "w1", status: "waiting" }),
      ]);
      expect(await again.getHookByToken("durable-token")).toMatchObject({ runId: run.runId, hookId: "h1" });
      expect(await again.listDue(now)).toEqual([{ runId: run.runId, wakeAt: now - 5 }]);
      expect((await again.listUnfinished()).items.map((r) => r.runId)).toEqual([run.runId]);
      expect((await again.getRun(done.runId))!.status).toBe("completed");
      // The lease is storage too: another owner cannot take it before it expires.
      expect(await again.acquireLease(run.runId, "B", 1_000)).toBeUndefined();
      const next = await again.append(run.runId, 7, [{ type: "wait_completed", correlationId: "w1" }]);
      expect(next.events[0]!.seq).toBe(8);
      await expectCode(
        again.append(run.runId, 8, [
          { type: "hook_created", correlationId: "h2", data: { token: "durable-token" } },
        ]),
        "HOOK_TOKEN_CONFLICT",
      );
    });
  });
}
