import type pg from "pg";
import { describe, expect, it } from "vitest";
import { CallGroup } from "./group-commit.js";

/** A pool whose queries wait until the test lets them answer, recording what was sent. */
function fakePool(answer: (q: pg.QueryConfig) => pg.QueryResult | Error) {
  const sent: pg.QueryConfig[] = [];
  const waiting: (() => void)[] = [];
  const pool = {
    query(q: pg.QueryConfig) {
      sent.push(q);
      return new Promise((resolve, reject) => {
        waiting.push(() => {
          const a = answer(q);
          if (a instanceof Error) reject(a);
          else resolve(a);
        });
      });
    },
  } as unknown as pg.Pool;
  const flush = async () => {
    while (waiting.length > 0) {
      for (const go of waiting.splice(0)) go();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { pool, sent, flush };
}

const result = (rows: Record<string, unknown>[]) => ({ rows }) as unknown as pg.QueryResult;

function group(pool: pg.Pool, maxInFlight = 1) {
  return new CallGroup<string, string>({
    pool,
    maxInFlight,
    maxBatch: 3,
    runIdOf: (id) => id,
    one: (id) => ({ text: "one", values: [id] }),
    answerOne: (res) => String(res.rows[0]!.v),
    many: (ids) => ({ text: "many", values: [ids] }),
    answerMany: (res, ids) => ids.map((_, i) => String(res.rows[i]!.v)),
  });
}

describe("CallGroup", () => {
  it("sends a lone call at once, alone, and batches only what arrives while connections are busy", async () => {
    const { pool, sent, flush } = fakePool((q) =>
      q.text === "one"
        ? result([{ v: `one:${(q.values as string[])[0]}` }])
        : result((q.values![0] as string[]).map((id) => ({ v: `many:${id}` }))),
    );
    const g = group(pool, 1);
    const first = g.send("r1");
    expect(sent.map((q) => q.text)).toEqual(["one"]);
    // The only connection is busy: these queue, and go out in batches of at most 3, ordered by run ID.
    const rest = ["r5", "r3", "r4", "r2"].map((id) => g.send(id));
    expect(sent).toHaveLength(1);
    await flush();
    expect(await first).toBe("one:r1");
    expect(await Promise.all(rest)).toEqual(["many:r5", "many:r3", "many:r4", "one:r2"]);
    expect(sent.map((q) => q.text)).toEqual(["one", "many", "one"]);
    expect(sent[1]!.values).toEqual([["r3", "r4", "r5"]]);
    expect(g.stats).toEqual({ calls: 3, batches: 1, batchedItems: 3, resentAlone: 0 });
  });

  it("resends each item of a failed batch alone, so one bad item fails only its own caller", async () => {
    const { pool, sent, flush } = fakePool((q) => {
      if (q.text === "many") return Object.assign(new Error("duplicate key"), { code: "23505" });
      const id = (q.values as string[])[0]!;
      return id === "bad" ? new Error(`refused ${id}`) : result([{ v: `one:${id}` }]);
    });
    const g = group(pool, 1);
    const blocker = g.send("a0");
    const calls = ["a1", "bad", "a2"].map((id) => g.send(id).catch((e: Error) => e.message));
    await flush();
    await blocker;
    expect(await Promise.all(calls)).toEqual(["one:a1", "refused bad", "one:a2"]);
    expect(sent.map((q) => q.text)).toEqual(["one", "many", "one", "one", "one"]);
    expect(g.stats.resentAlone).toBe(3);
  });

  it("hands a broken connection back to every caller of the batch (each retry then checks what landed)", async () => {
    const { pool, flush } = fakePool((q) =>
      q.text === "many"
        ? Object.assign(new Error("Connection terminated unexpectedly"), { code: "57P01" })
        : result([{ v: "ok" }]),
    );
    const g = group(pool, 1);
    const blocker = g.send("x");
    const calls = ["y", "z"].map((id) => g.send(id).catch((e: Error) => e.message));
    await flush();
    await blocker;
    expect(await Promise.all(calls)).toEqual([
      "Connection terminated unexpectedly",
      "Connection terminated unexpectedly",
    ]);
    expect(g.stats.resentAlone).toBe(0);
  });
});
