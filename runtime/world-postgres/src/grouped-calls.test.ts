/**
 * The grouped calls against a real database: with one connection, concurrent creates, appends and reads go
 * out as batches, and each caller still gets exactly its own answer.
 */
import { isWorldError, type NewEvent } from "@wfkit/world";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedInstances } from "./__tests__/shared-instances.js";
import { createPostgresWorld, type PostgresWorld } from "./postgres-world.js";
import { getTestDatabase, type TestDatabase } from "./testing/database.js";

const step = (id: string): NewEvent => ({
  type: "step_created",
  correlationId: id,
  data: { stepName: "step//./m//s", input: "[]" },
});

describe("grouped calls (postgres)", () => {
  let db: TestDatabase;
  let world: PostgresWorld;
  beforeAll(async () => {
    db = await getTestDatabase();
    world = await createPostgresWorld({ url: db.url, schema: db.schema, poolSize: 1 });
  });
  afterAll(async () => {
    await world?.close();
    await db?.cleanup();
  });

  it("creates, leases, appends and reads 60 runs at once, each answered on its own", async () => {
    const created = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        world.createRun({
          workflowName: `wf${i}`,
          input: `[${i}]`,
          ...(i % 2 === 0 ? { lease: { owner: `owner-${i}`, ttlMs: 60_000 } } : {}),
        }),
      ),
    );
    for (const [i, c] of created.entries()) {
      expect(c.run.workflowName).toBe(`wf${i}`);
      if (i % 2 === 0) expect(c.lease).toMatchObject({ runId: c.run.runId, owner: `owner-${i}` });
      else expect(c.lease).toBeUndefined();
    }
    // Half the appends carry their lease, the others none; two per run in one go: the second must conflict.
    const appended = await Promise.all(
      created.flatMap(({ run, lease }) => [
        world.append(run.runId, 1, [{ type: "run_started" }, step("s1")], lease ? { lease } : {}),
        world.append(run.runId, 1, [{ type: "run_started" }]).catch((e: unknown) => e),
      ]),
    );
    for (let i = 0; i < appended.length; i += 2) {
      expect((appended[i] as { run: { lastSeq: number } }).run.lastSeq).toBe(3);
      expect(isWorldError(appended[i + 1], "APPEND_CONFLICT")).toBe(true);
    }
    const read = await Promise.all(created.map(({ run }) => world.getRun(run.runId)));
    expect(read.map((r) => [r?.workflowName, r?.lastSeq])).toEqual(created.map((_, i) => [`wf${i}`, 3]));
    expect(await Promise.all([world.getRun("wrun_missing1"), world.getRun("wrun_missing2")])).toEqual([
      undefined,
      undefined,
    ]);
    // With one connection, most of those went out in batches.
    const { appends, creates, runReads } = world.groupedCalls;
    expect(creates.batchedItems).toBeGreaterThan(30);
    // (the conflicting appends are refused from the cached state, without a call)
    expect(appends.batchedItems).toBeGreaterThan(30);
    expect(runReads.batchedItems).toBeGreaterThan(30);
    expect(appends.calls).toBeLessThan(30);
  });

  it("a hook token taken twice in one batch fails only the second taker; the rest commit", async () => {
    const runs = await Promise.all(
      Array.from({ length: 8 }, () => world.createRun({ workflowName: "wf", input: "[]" })),
    );
    const hook = (token: string): NewEvent => ({
      type: "hook_created",
      correlationId: "hook_0001",
      data: { token, kind: "hook" },
    });
    const results = await Promise.all(
      runs.map(({ run }, i) =>
        world.append(run.runId, 1, [hook(i < 2 ? "shared-token" : `own-${i}`)]).then(
          () => "ok",
          (e: unknown) => (isWorldError(e, "HOOK_TOKEN_CONFLICT") ? "conflict" : e),
        ),
      ),
    );
    expect(world.groupedCalls.appends.resentAlone).toBeGreaterThan(0);
    expect(results.filter((r) => r === "conflict")).toHaveLength(1);
    expect(results.filter((r) => r === "ok")).toHaveLength(7);
    expect((await world.getHookByToken("shared-token"))?.status).toBe("active");
  });
});

describe("grouped calls across instances (postgres)", () => {
  const { open } = sharedInstances();

  it("two instances batching appends to the same runs never fork a log nor surface a deadlock", async () => {
    const a = await open({ poolSize: 1 });
    const b = await open({ poolSize: 1 });
    const runs = await Promise.all(
      Array.from({ length: 24 }, () => a.createRun({ workflowName: "wf", input: "[]" })),
    );
    // Each instance appends to every run, in opposite orders, five times over: batches of both instances
    // hold row locks on many of the same runs at once.
    const writer = async (world: PostgresWorld, order: typeof runs, tag: string) => {
      let won = 0;
      for (let round = 0; round < 5; round++) {
        const results = await Promise.all(
          order.map(async ({ run }) => {
            for (;;) {
              const head = (await world.getRun(run.runId))!.lastSeq;
              try {
                await world.append(run.runId, head, [step(`${tag}${round}`)]);
                return true;
              } catch (e) {
                if (!isWorldError(e, "APPEND_CONFLICT")) throw e;
              }
            }
          }),
        );
        won += results.length;
      }
      return won;
    };
    const [wonA, wonB] = await Promise.all([writer(a, runs, "a"), writer(b, [...runs].reverse(), "b")]);
    expect(wonA + wonB).toBe(24 * 10);
    for (const { run } of runs) {
      const events = await a.readEvents(run.runId);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events).toHaveLength(11);
    }
    expect(a.groupedCalls.appends.batches + b.groupedCalls.appends.batches).toBeGreaterThan(0);
  });
});
