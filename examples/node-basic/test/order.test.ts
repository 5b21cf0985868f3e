/**
 * Tests of the example's workflows, run in-process by the `workflow()` Vitest plugin (vitest.config.ts): each
 * file gets a fresh local world, nothing is built beforehand. `npm test` here runs them.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FatalError } from "workflow";
import { getRun, resumeHook, start } from "workflow/api";
import { advanceTime, mockStep, replayRun, useVirtualTime } from "workflow/testing";
import { waitForHook, waitForSleep } from "workflow/vitest";
import { chargePayment, type Order, processOrder, releaseStock, shipOrder } from "../src/order.ts";
import { payRefund, refundOrder } from "../src/refund.ts";

const order: Order = {
  orderId: "ord_test",
  customer: { name: "Ada", email: "ada@example.com", phone: "+44 20 7946 0000" },
  items: [{ sku: "KB-75", quantity: 2, unitPrice: 10 }],
};

describe("processOrder", () => {
  it("retries the payment and sleeps through the cooling-off period in virtual time", async () => {
    useVirtualTime();
    process.env.ORDER_COOLING_OFF = "1h";
    try {
      const startedAt = Date.now();
      const run = await start(processOrder, [order]);
      const receipt = await run.returnValue;

      expect(receipt).toMatchObject({ orderId: "ord_test", chargeId: "ch_ord_test_2000", total: 20 });
      const steps = await run.steps();
      expect(steps.find((s) => s.stepName.endsWith("//chargePayment"))?.attempt).toBe(3);
      // The sleep lasted its hour in the run's clock, and (far) less than that in the test's.
      const events = await run.events();
      const created = events.find((e) => e.type === "wait_created")!;
      const completed = events.find((e) => e.type === "wait_completed")!;
      const resumeAt = Number(created.data?.resumeAt);
      expect(resumeAt - created.createdAt.getTime()).toBeGreaterThan(59 * 60_000);
      expect(completed.createdAt.getTime()).toBeGreaterThanOrEqual(resumeAt);
      expect(Date.now() - startedAt).toBeLessThan(30_000);
    } finally {
      delete process.env.ORDER_COOLING_OFF;
    }
  });

  it("releases the stock when the payment is refused (mockStep)", async () => {
    useVirtualTime();
    const charge = mockStep(chargePayment, async () => {
      throw new FatalError("card declined");
    });
    const release = mockStep(releaseStock, async () => {});
    const run = await start(processOrder, [order]);

    await expect(run.returnValue).rejects.toMatchObject({ cause: { message: "card declined" } });
    expect(charge.calls).toEqual([["ord_test", 20]]);
    expect(release.calls).toHaveLength(1);
  });

  it("uses the real step again in the next test", async () => {
    useVirtualTime();
    const ship = mockStep(shipOrder, async (orderId) => `MOCK-${orderId}`);
    ship.restore();
    const run = await start(processOrder, [order]);
    expect((await run.returnValue).trackingNumber).toMatch(/^TRK-ORD_TEST-/);
  });

  it("waits for advanceTime() with manual virtual time", async () => {
    useVirtualTime({ auto: false });
    // Paid at the first attempt, so the only wake-up is the cooling-off sleep.
    mockStep(chargePayment, async (orderId, amount) => `ch_${orderId}_${amount * 100}`);
    process.env.ORDER_COOLING_OFF = "1h";
    try {
      const run = await start(processOrder, [order]);
      await waitForSleep(run);
      await advanceTime("59m");
      expect(await run.status).toBe("running");
      await advanceTime("1m");
      expect(await run.returnValue).toMatchObject({ orderId: "ord_test", chargeId: "ch_ord_test_2000" });
    } finally {
      delete process.env.ORDER_COOLING_OFF;
    }
  });

  it("replays a recorded run against the current code (replayRun)", async () => {
    const log = JSON.parse(
      readFileSync(new URL("./fixtures/process-order.run.json", import.meta.url), "utf8"),
    );
    const result = await replayRun(log);
    expect(result.outcome).toBe("completed");
    expect(result.eventsReplayed).toBe(log.events.length);

    // The same run, as if the code had charged before reserving: the replay names both sides.
    const reordered = structuredClone(log);
    const first = reordered.events.find((e: { type: string }) => e.type === "step_created");
    first.data.stepName = first.data.stepName.replace("reserveStock", "chargePayment");
    await expect(replayRun(reordered)).rejects.toMatchObject({
      code: "REPLAY_DIVERGENCE",
      message: expect.stringMatching(
        /called step .*\/\/reserveStock.* where the log records step .*\/\/chargePayment/,
      ),
    });
  });
});

describe("refundOrder", () => {
  it("pays out after approval and a skipped grace period (waitForHook, waitForSleep, wakeUp)", async () => {
    const run = await start(refundOrder, ["ord_1", 12.5]);
    const hook = await waitForHook(run, { token: "refund:ord_1" });
    expect(hook.runId).toBe(run.runId);
    await resumeHook(hook.token, { approved: true, reviewer: "alice" });

    const sleepId = await waitForSleep(run);
    const { stoppedCount } = await getRun(run.runId).wakeUp({ correlationIds: [sleepId] });
    expect(stoppedCount).toBe(1);
    expect(await run.returnValue).toEqual({
      orderId: "ord_1",
      status: "refunded",
      reviewer: "alice",
      refundId: "rf_ord_1_1250",
    });
  });

  it("rejects without paying", async () => {
    const pay = mockStep(payRefund, async () => "never");
    const run = await start(refundOrder, ["ord_2", 5]);
    await waitForHook(run, { token: "refund:ord_2" });
    await resumeHook("refund:ord_2", { approved: false, reviewer: "bob" });
    expect(await run.returnValue).toEqual({ orderId: "ord_2", status: "rejected", reviewer: "bob" });
    expect(pay.calls).toHaveLength(0);
  });
});
