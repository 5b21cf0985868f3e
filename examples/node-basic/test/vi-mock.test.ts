/** `vi.mock()` of a module that steps import applies to the steps of runs: they run in Vitest's module graph. */

import { expect, it, vi } from "vitest";
import { start } from "workflow/api";
import { useVirtualTime } from "workflow/testing";
import { processOrder } from "../src/order.ts";

vi.mock("../src/services.ts", () => ({
  inventory: { reserve: async () => "res_mocked", release: async () => {} },
  paymentGateway: { charge: async (orderId: string) => `ch_mocked_${orderId}` },
}));

it("runs the order against the mocked services", async () => {
  useVirtualTime();
  const run = await start(processOrder, [
    {
      orderId: "o9",
      customer: { name: "Ada", email: "a@example.com", phone: "1" },
      items: [{ sku: "X", quantity: 1, unitPrice: 5 }],
    },
  ]);
  const receipt = await run.returnValue;
  expect(receipt).toMatchObject({ reservationId: "res_mocked", chargeId: "ch_mocked_o9" });
  // The mocked gateway never fails, so the payment succeeded on its first attempt.
  const steps = await run.steps();
  expect(steps.find((s) => s.stepName.endsWith("//chargePayment"))?.attempt).toBe(1);
});
