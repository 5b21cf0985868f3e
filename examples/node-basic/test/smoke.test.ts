import { expect, it } from "vitest";
import { getRun, resumeHook, start } from "workflow/api";
import { waitForHook, waitForSleep } from "workflow/vitest";
import { refundOrder } from "../src/refund.ts";

it("runs", async () => {
  const run = await start(refundOrder, ["o1", 5]);
  await waitForHook(run, { token: "refund:o1" });
  await resumeHook("refund:o1", { approved: true, reviewer: "ada" });
  const id = await waitForSleep(run);
  await getRun(run.runId).wakeUp({ correlationIds: [id] });
  expect(await run.returnValue).toEqual({
    orderId: "o1",
    status: "refunded",
    reviewer: "ada",
    refundId: "rf_o1_500",
  });
});
