import { createHook, sleep } from "workflow";

export interface RefundDecision {
  approved: boolean;
  reviewer: string;
}

/**
 * A refund waits for a person's decision (a hook with a predictable token), then pays out after a grace period
 * in which the customer may still cancel.
 */
export async function refundOrder(orderId: string, amount: number) {
  "use workflow";

  const decision = createHook<RefundDecision>({ token: `refund:${orderId}` });
  const { approved, reviewer } = await decision;
  if (!approved) return { orderId, status: "rejected" as const, reviewer };

  await sleep("1d");
  const refundId = await payRefund(orderId, amount);
  return { orderId, status: "refunded" as const, reviewer, refundId };
}

export async function payRefund(orderId: string, amount: number): Promise<string> {
  "use step";
  return `rf_${orderId}_${Math.round(amount * 100)}`;
}
