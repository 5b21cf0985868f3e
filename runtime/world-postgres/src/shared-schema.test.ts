/**
 * Behaviour that only a world shared between processes has: several world instances (each with its own
 * pool and LISTEN connection, as separate processes would have) on one schema.
 */
import { isWorldError, type NewEvent, type RunNotification, type World } from "@wfkit/world";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { sharedInstances, sleep, until } from "./__tests__/shared-instances.js";
import { createWorld } from "./create-world.js";
import { LATEST_VERSION, MIGRATIONS, migrate } from "./migrations.js";
import { createPostgresWorld } from "./postgres-world.js";
import { getTestDatabase } from "./testing/database.js";

const step = (id: string): NewEvent => ({
  type: "step_created",
  correlationId: id,
  data: { stepName: "step//./m//s", input: "[]" },
});

describe("postgres world shared between instances", () => {
  const shared = sharedInstances();
  const { open } = shared;

  it("concurrent appenders on two instances never fork the log", async () => {
    const a = await open();
    const b = await open();
    const { run } = await a.createRun({ workflowName: "wf", input: "[]" });
    const writer = async (world: World, name: string) => {
      for (let i = 0; i < 10; i++) {
        for (;;) {
          const head = (await world.getRun(run.runId))!.lastSeq;
          try {
            await world.append(run.runId, head, [step(`${name}-${i}`)]);
            break;
          } catch (e) {
            if (!isWorldError(e, "APPEND_CONFLICT")) throw e;
          }
        }
      }
    };
    await Promise.all([writer(a, "a1"), writer(b, "b1"), writer(a, "a2"), writer(b, "b2")]);
    const events = await b.readEvents(run.runId);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    expect(new Set(events.slice(1).map((e) => e.correlationId)).size).toBe(40);
    expect(await a.listSteps(run.runId)).toHaveLength(40);
    expect((await a.getRun(run.runId))!.lastSeq).toBe(41);
  });

  it("an instance whose cached state is stale is refused, then appends at the new head", async () => {
    const a = await open();
    const b = await open({ listen: false }); // hears nothing: its cache cannot be corrected by NOTIFY
    const { run } = await b.createRun({ workflowName: "wf", input: "[]" });
    await b.append(run.runId, 1, [{ type: "run_started" }]);
    await a.append(run.runId, 2, [step("s1")]);
    let error: unknown;
    try {
      await b.append(run.runId, 2, [step("s2")]);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "APPEND_CONFLICT", expectedSeq: 2, actualSeq: 3 });
    const res = await b.append(run.runId, 3, [
      { type: "step_started", correlationId: "s1", data: { attempt: 1 } },
    ]);
    // The step row a created is updated by b: b read the run's rows before applying its batch.
    expect(res.run.lastSeq).toBe(4);
    expect(await a.getStep(run.runId, "s1")).toMatchObject({ status: "running", attempt: 1 });
  });

  it("an instance catches its cached state up with another instance's events before appending", async () => {
    const a = await open();
    const b = await open({ listen: false });
    const { run } = await b.createRun({ workflowName: "wf", input: "[]" });
    await b.append(run.runId, 1, [{ type: "run_started" }]); // b now holds the run at seq 2
    const now = Date.now();
    await a.append(run.runId, 2, [
      step("s1"),
      { type: "hook_created", correlationId: "h1", data: { token: "caught-up" } },
      { type: "wait_created", correlationId: "w1", data: { resumeAt: now + 60_000 } },
    ]);
    // b appends at the head a made: the rows it writes must account for a's events.
    const res = await b.append(run.runId, 5, [
      { type: "step_started", correlationId: "s1", data: { attempt: 1 } },
      { type: "hook_disposed", correlationId: "h1" },
    ]);
    expect(res.run).toEqual(await a.getRun(run.runId));
    expect(res.run).toMatchObject({ lastSeq: 7, wakeAt: now + 60_000 });
    expect(await a.getStep(run.runId, "s1")).toMatchObject({ status: "running", attempt: 1 });
    expect(await a.getHookByToken("caught-up")).toBeUndefined();
    expect((await a.listHooks(run.runId))[0]).toMatchObject({ hookId: "h1", status: "disposed" });
  });

  it("notifications cross instances, and an instance hears its own appends once, before append returns", async () => {
    const a = await open();
    const b = await open();
    const heardByB: RunNotification[] = [];
    const heardByA: RunNotification[] = [];
    b.subscribe((n) => heardByB.push(n));
    a.subscribe((n) => heardByA.push(n));
    const { run } = await a.createRun({ workflowName: "wf", input: "[]" });
    expect(heardByA).toEqual([{ runId: run.runId, lastSeq: 1, status: "pending", kind: "created" }]);
    await a.append(run.runId, 1, [{ type: "run_started" }]);
    expect(heardByA).toHaveLength(2);
    await a.append(run.runId, 2, [{ type: "run_completed", data: { output: '"done"' } }]);
    await until(() => heardByB.length === 3, "b to hear three notifications");
    expect(heardByB).toEqual([
      { runId: run.runId, lastSeq: 1, status: "pending", kind: "created" },
      { runId: run.runId, lastSeq: 2, status: "running", kind: "appended" },
      { runId: run.runId, lastSeq: 3, status: "completed", kind: "finished" },
    ]);
    await sleep(100); // a's own NOTIFY echo comes back through LISTEN and must be skipped
    expect(heardByA).toHaveLength(3);
  });

  it("a lease taken by one instance blocks the other until it expires", async () => {
    const a = await open();
    const b = await open();
    const { run } = await a.createRun({ workflowName: "wf", input: "[]" });
    const leaseA = (await a.acquireLease(run.runId, "worker-a", 400))!;
    expect(leaseA).toBeDefined();
    expect(await b.acquireLease(run.runId, "worker-b", 10_000)).toBeUndefined();
    await expect(b.append(run.runId, 1, [{ type: "run_started" }], { lease: leaseA })).resolves.toBeDefined();
    await sleep(550);
    const leaseB = (await b.acquireLease(run.runId, "worker-b", 10_000))!;
    expect(leaseB.token).toBeGreaterThan(leaseA.token);
    let error: unknown;
    try {
      await a.append(run.runId, 2, [step("late")], { lease: leaseA });
    } catch (e) {
      error = e;
    }
    expect(isWorldError(error, "LEASE_LOST")).toBe(true);
    expect(await a.renewLease(leaseA, 10_000)).toBeUndefined();
  });

  it("claimDue splits due runs between concurrent claimers and skips leased ones", async () => {
    const a = await open();
    const b = await open();
    const now = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { run } = await a.createRun({ workflowName: "wf-claim", input: "[]" });
      await a.append(run.runId, 1, [
        { type: "wait_created", correlationId: "w", data: { resumeAt: now - 1_000 + i } },
      ]);
      ids.push(run.runId);
    }
    const { run: future } = await a.createRun({ workflowName: "wf-claim", input: "[]" });
    await a.append(future.runId, 1, [
      { type: "wait_created", correlationId: "w", data: { resumeAt: now + 60_000 } },
    ]);
    const held = (await a.acquireLease(ids[0]!, "someone", 60_000))!;
    const expired = (await a.acquireLease(ids[1]!, "crashed", 1))!;
    await sleep(20); // the crashed worker's lease on ids[1] runs out: its run is claimable again

    const [fromA, fromB] = await Promise.all([
      a.claimDue(now, "A", 30_000, 50),
      b.claimDue(now, "B", 30_000, 50),
    ]);
    const claimed = [...fromA, ...fromB].map((c) => c.runId);
    expect(new Set(claimed).size).toBe(claimed.length); // nobody claimed a run twice
    expect(claimed.sort()).toEqual(ids.slice(1).sort()); // every free due run, not the held or future one
    for (const c of fromA) expect(c).toMatchObject({ owner: "A", wakeAt: expect.any(Number) });
    expect(fromA.map((c) => c.wakeAt)).toEqual([...fromA.map((c) => c.wakeAt)].sort((x, y) => x - y));
    // The claims are real leases: nobody else can take them, and appends under them work.
    const first = fromA[0] ?? fromB[0]!;
    expect(await b.acquireLease(first.runId, "C", 1_000)).toBeUndefined();
    await a.append(first.runId, 2, [{ type: "wait_completed", correlationId: "w" }], { lease: first });
    expect(await a.claimDue(now, "A", 30_000)).toEqual([]);
    expect(held.owner).toBe("someone");
    const reclaimed = [...fromA, ...fromB].find((c) => c.runId === ids[1])!;
    expect(reclaimed.token).toBeGreaterThan(expired.token);
  });

  it("one hook token, two instances, two runs at once: exactly one wins", async () => {
    const a = await open();
    const b = await open();
    const r1 = (await a.createRun({ workflowName: "wf", input: "[]" })).run;
    const r2 = (await b.createRun({ workflowName: "wf", input: "[]" })).run;
    const hook: NewEvent = { type: "hook_created", correlationId: "h", data: { token: "contested" } };
    const results = await Promise.allSettled([a.append(r1.runId, 1, [hook]), b.append(r2.runId, 1, [hook])]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(isWorldError(lost.reason, "HOOK_TOKEN_CONFLICT")).toBe(true);
    const winner = results[0]!.status === "fulfilled" ? r1 : r2;
    expect(lost.reason).toMatchObject({ token: "contested", holderRunId: winner.runId });
    expect(await b.getHookByToken("contested")).toMatchObject({ runId: winner.runId });
  });

  it("one batch can release a token and take it again (the unique index sees the release first)", async () => {
    const a = await open();
    const { run } = await a.createRun({ workflowName: "wf", input: "[]" });
    await a.append(run.runId, 1, [{ type: "hook_created", correlationId: "h1", data: { token: "again" } }]);
    await a.append(run.runId, 2, [
      // Names h2 before h1, so the rows would be written h2 first if the world did not order them.
      { type: "hook_received", correlationId: "h2", data: { payload: "early" } },
      { type: "hook_disposed", correlationId: "h1" },
      { type: "hook_created", correlationId: "h2", data: { token: "again" } },
    ]);
    expect(await a.getHookByToken("again")).toMatchObject({ hookId: "h2", status: "active" });
    const hooks = await a.listHooks(run.runId);
    expect(hooks.find((h) => h.hookId === "h1")).toMatchObject({ status: "disposed" });
  });

  it("survives pg_terminate_backend: the next call succeeds and LISTEN notifications resume", async () => {
    const a = await open({ applicationName: "wf-victim" });
    const b = await open();
    const heard: RunNotification[] = [];
    a.subscribe((n) => heard.push(n));
    const { run } = await b.createRun({ workflowName: "wf", input: "[]" });
    await until(() => heard.length === 1, "the first notification");
    // Fill a's pool with idle connections, kill them all and use the pool at once: every call below
    // may be handed a connection that is already dead.
    await Promise.all([1, 2, 3, 4].map(() => a.getRun(run.runId)));
    const killed = await shared.admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'wf-victim'",
    );
    expect(killed.rowCount).toBeGreaterThanOrEqual(3); // pooled connections and the LISTEN connection
    const appended = await a.append(run.runId, 1, [{ type: "run_started" }]);
    expect(appended.run.lastSeq).toBe(2);
    expect((await a.getRun(run.runId))!.lastSeq).toBe(2);
    await a.append(run.runId, 2, [step("after-kill")]);
    expect((await a.readEvents(run.runId)).map((e) => e.seq)).toEqual([1, 2, 3]);
    // The LISTEN connection comes back by itself; b's changes reach a again.
    await until(async () => {
      const n = await shared.admin.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'wf-victim' AND query ILIKE 'LISTEN%'",
      );
      return n.rows[0].n === 1;
    }, "the LISTEN connection to come back");
    await b.append(run.runId, 3, [{ type: "run_completed", data: { output: "1" } }]);
    await until(
      () => heard.some((n) => n.kind === "finished" && n.runId === run.runId),
      "the finish notification",
    );
  });

  it("after a LISTEN gap, per-run subscribers are told where their run is now", async () => {
    const a = await open({ applicationName: "wf-gap" });
    const b = await open();
    const { run } = await b.createRun({ workflowName: "wf", input: "[]" });
    const heard: RunNotification[] = [];
    a.subscribe((n) => heard.push(n), run.runId);
    await shared.admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'wf-gap' AND query ILIKE 'LISTEN%'",
    );
    // Finished while a's LISTEN connection may be down: a must hear of it either way.
    await b.append(run.runId, 1, [{ type: "run_completed", data: { output: "1" } }]);
    await until(() => heard.some((n) => n.kind === "finished" && n.status === "completed"), "the finish");
  });
});

describe("postgres migrations", () => {
  const allVersions = MIGRATIONS.map((m) => m.version);
  it("are versioned and idempotent, and a world refuses an unmigrated schema when told not to migrate", async () => {
    const db = await getTestDatabase();
    try {
      await expect(
        createPostgresWorld({ url: db.url, schema: db.schema, migrate: false }),
      ).rejects.toMatchObject({
        code: "SCHEMA_OUTDATED",
      });
      const first = await migrate(db.url, db.schema);
      expect(first).toEqual({ schema: db.schema, applied: allVersions, version: LATEST_VERSION });
      const again = await migrate(db.url, db.schema);
      expect(again).toEqual({ schema: db.schema, applied: [], version: LATEST_VERSION });
      const concurrent = await Promise.all([migrate(db.url, db.schema), migrate(db.url, db.schema)]);
      expect(concurrent.every((r) => r.applied.length === 0)).toBe(true);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const rows = await client.query(`SELECT version, name FROM "${db.schema}".schema_migrations`);
      await client.end();
      expect(rows.rows.map((r) => r.version).sort((x, y) => x - y)).toEqual(allVersions);
      expect(rows.rows.find((r) => r.version === 1)).toEqual({
        version: 1,
        name: expect.stringContaining("runs"),
      });
      const world = await createPostgresWorld({ url: db.url, schema: db.schema, migrate: false });
      await world.close();
    } finally {
      await db.cleanup();
    }
  });

  it("migrate from scratch, concurrently from several processes' worth of clients, applies each version once", async () => {
    const db = await getTestDatabase();
    try {
      const results = await Promise.all([1, 2, 3].map(() => migrate(db.url, db.schema)));
      expect(results.flatMap((r) => r.applied).sort((x, y) => x - y)).toEqual(allVersions);
    } finally {
      await db.cleanup();
    }
  });

  it("createWorld() (what WORKFLOW_TARGET_WORLD=postgres loads) is configured from the environment", async () => {
    const db = await getTestDatabase();
    const saved = { ...process.env };
    Object.assign(process.env, {
      WORKFLOW_POSTGRES_URL: db.url,
      WORKFLOW_POSTGRES_SCHEMA: db.schema,
      WORKFLOW_POSTGRES_POOL_SIZE: "2",
    });
    try {
      const world = await createWorld();
      expect(world).toMatchObject({ name: "postgres", schema: db.schema });
      const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
      expect((await world.getRun(run.runId))!.lastSeq).toBe(1);
      await world.close();
    } finally {
      for (const k of ["WORKFLOW_POSTGRES_URL", "WORKFLOW_POSTGRES_SCHEMA", "WORKFLOW_POSTGRES_POOL_SIZE"]) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
      await db.cleanup();
    }
  });

  it("refuses a schema name that is not a plain lower-case identifier", async () => {
    await expect(
      createPostgresWorld({ url: "postgres://x@127.0.0.1:1/x", schema: 'bad"name' }),
    ).rejects.toMatchObject({
      code: "INVALID_SCHEMA",
    });
  });

  it("names the missing setting when there is no URL", async () => {
    const saved = process.env.WORKFLOW_POSTGRES_URL;
    delete process.env.WORKFLOW_POSTGRES_URL;
    try {
      await expect(createPostgresWorld()).rejects.toThrow(/WORKFLOW_POSTGRES_URL/);
    } finally {
      if (saved !== undefined) process.env.WORKFLOW_POSTGRES_URL = saved;
    }
  });
});
