/**
 * Deliveries on Postgres beyond the conformance suite: atomicity with the append that consumes them, the batch
 * path, cleanup at the run's end, the index behind listDeliveryRuns, and resends after a killed connection.
 */
import type { NewDelivery, NewEvent, RunNotification } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { sharedInstances, until } from "./__tests__/shared-instances.js";

const payload = (deliveryId: string, data = `"${deliveryId}"`): NewDelivery => ({
  deliveryId,
  event: { type: "hook_received", correlationId: "h1", data: { payload: data } },
});
const consume = (deliveryId: string): NewEvent => ({
  type: "hook_received",
  correlationId: "h1",
  data: { payload: `"${deliveryId}"`, deliveryId },
});

describe("postgres deliveries", () => {
  const shared = sharedInstances();
  const { open } = shared;
  const table = () => `"${shared.db.schema}".deliveries`;

  async function hookedRun(w: Awaited<ReturnType<typeof open>>, runId?: string) {
    const { run } = await w.createRun({ workflowName: "wf", input: "[]", ...(runId ? { runId } : {}) });
    const token = `tok-${Math.random().toString(36).slice(2)}`;
    await w.append(run.runId, 1, [
      { type: "run_started" },
      { type: "hook_created", correlationId: "h1", data: { token } },
    ]);
    return run.runId;
  }

  it("an append that is refused consumes nothing; the one that lands consumes in its transaction", async () => {
    const w = await open();
    const runId = await hookedRun(w);
    await w.deliver(runId, payload("d1"));
    const lease = (await w.acquireLease(runId, "executor", 60_000))!;
    // Refused appends: stale head, and a lease that is not held. The delivery stays pending after both.
    await expect(w.append(runId, 2, [consume("d1")], { lease })).rejects.toMatchObject({
      code: "APPEND_CONFLICT",
    });
    await expect(
      w.append(runId, 3, [consume("d1")], { lease: { ...lease, token: lease.token + 1 } }),
    ).rejects.toMatchObject({ code: "LEASE_LOST" });
    expect((await w.listDeliveries(runId)).map((d) => d.deliveryId)).toEqual(["d1"]);
    await w.append(runId, 3, [consume("d1")], { lease });
    expect(await w.listDeliveries(runId)).toEqual([]);
    const rows = await shared.admin.query(`SELECT delivery_id, consumed FROM ${table()} WHERE run_id = $1`, [
      runId,
    ]);
    expect(rows.rows).toEqual([{ delivery_id: "d1", consumed: true }]); // kept, so a retry stays a duplicate
  });

  it("the group-commit batch path consumes deliveries, and the append that ends a run deletes its rows", async () => {
    const w = await open({ poolSize: 1 });
    const runIds = await Promise.all(Array.from({ length: 10 }, () => hookedRun(w)));
    await Promise.all(runIds.map((id) => w.deliver(id, payload("p"))));
    await Promise.all(runIds.map((id) => w.deliver(id, payload("q"))));
    const before = w.groupedCalls.appends.batchedItems;
    // Half consume "p" (and keep running), half consume it and end.
    await Promise.all(
      runIds.map((id, i) =>
        w.append(
          id,
          3,
          i % 2 === 0 ? [consume("p")] : [consume("p"), { type: "run_completed", data: { output: "1" } }],
        ),
      ),
    );
    expect(w.groupedCalls.appends.batchedItems).toBeGreaterThan(before);
    for (const [i, id] of runIds.entries()) {
      const rows = await shared.admin.query(
        `SELECT delivery_id, consumed FROM ${table()} WHERE run_id = $1 ORDER BY delivery_id`,
        [id],
      );
      expect(rows.rows).toEqual(
        i % 2 === 0
          ? [
              { delivery_id: "p", consumed: true },
              { delivery_id: "q", consumed: false },
            ]
          : [],
      );
    }
    const due = (await w.listDeliveryRuns(Date.now() + 60_000, 100)).map((r) => r.runId).sort();
    expect(due).toEqual(runIds.filter((_, i) => i % 2 === 0).sort());
  });

  it("runs ended by code older than migration 5 (which leaves their deliveries) are not listed", async () => {
    const w = await open();
    const runId = await hookedRun(w);
    await w.deliver(runId, payload("orphan"));
    await shared.admin.query(`UPDATE "${shared.db.schema}".runs SET status = 'completed' WHERE run_id = $1`, [
      runId,
    ]);
    expect(await w.listDeliveries(runId)).toEqual([]);
    expect((await w.listDeliveryRuns(Date.now() + 60_000)).map((r) => r.runId)).not.toContain(runId);
  });

  it("listDeliveryRuns is an index scan of the pending deliveries", async () => {
    const w = await open();
    await w.deliver(await hookedRun(w), payload("x")); // the schema is migrated and the table is not empty
    const s = `"${shared.db.schema}"`;
    await shared.admin.query("BEGIN");
    try {
      // A handful of rows would be seq-scanned by choice; forbid it to see whether the index can serve.
      await shared.admin.query("SET LOCAL enable_seqscan = off");
      const plan = await shared.admin.query(
        `EXPLAIN SELECT d.run_id, min(d.created_at) AS since
          FROM ${s}.deliveries d JOIN ${s}.runs r ON r.run_id = d.run_id
          WHERE NOT d.consumed AND d.created_at <= $1 AND r.status IN ('pending', 'running')
          GROUP BY d.run_id ORDER BY since, d.run_id LIMIT $2`,
        [Date.now(), 100],
      );
      const text = plan.rows.map((r) => r["QUERY PLAN"]).join("\n");
      expect(text).toMatch(/Index (Only )?Scan using deliveries_pending/);
      expect(text).not.toMatch(/Seq Scan on deliveries/);
    } finally {
      await shared.admin.query("ROLLBACK");
    }
  });

  it("a deliver whose connection was killed is resent, recorded once, and heard locally", async () => {
    const w = await open({ applicationName: "wf-deliver-victim", listen: false });
    const runId = await hookedRun(w);
    const heard: RunNotification[] = [];
    w.subscribe((n) => heard.push(n), runId);
    await Promise.all([1, 2, 3, 4].map(() => w.getRun(runId))); // fill the pool with idle connections
    await shared.admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'wf-deliver-victim'",
    );
    const first = await w.deliver(runId, payload("k"));
    expect(first.duplicate).toBe(false);
    expect(heard.filter((n) => n.kind === "delivered")).toHaveLength(1);
    expect((await w.deliver(runId, payload("k"))).duplicate).toBe(true);
    expect((await w.listDeliveries(runId)).map((d) => d.deliveryId)).toEqual(["k"]);
  });

  it("a delivery is heard by another instance with the run's head, and its payload round-trips NUL", async () => {
    const a = await open();
    const b = await open();
    // A run ID that the text codec stores encoded (it begins with its marker): the notification names it as given.
    const runId = await hookedRun(a, `\uFDD0"wrun_${Math.random().toString(36).slice(2)}"`);
    const heard: RunNotification[] = [];
    b.subscribe((n) => heard.push(n));
    const { delivery } = await a.deliver(runId, payload("n", '"x\u0000y"'));
    expect(delivery.event.data.payload).toBe('"x\u0000y"');
    await until(() => heard.some((n) => n.kind === "delivered"), "b to hear the delivery");
    expect(heard.find((n) => n.kind === "delivered")).toEqual({
      runId,
      lastSeq: 3,
      status: "running",
      kind: "delivered",
    });
    expect(await b.listDeliveries(runId)).toEqual([delivery]);
    await expect(a.deliver(runId, payload("bad\u0000id"))).rejects.toMatchObject({ code: "INVALID_EVENT" });
  });
});
