import { existsSync } from "node:fs";
import { createHook, FatalError, sleep } from "workflow";

/** Fails while the file `outage` exists in the project folder: an operator fixes the outage, then retries. */
export async function charge(orderId: string, total: number): Promise<string> {
  "use step";
  if (existsSync("outage")) throw new FatalError(`payment provider down while charging ${orderId}`);
  return `ch_${orderId}_${total}`;
}

export async function price(sku: string): Promise<number> {
  "use step";
  return sku.length * 10;
}

export async function approveOrder(orderId: string, skus: string[]) {
  "use workflow";
  const approval = createHook<{ approved: boolean }>({ token: `approval:${orderId}` });
  const prices = await Promise.all(skus.map((sku) => price(sku)));
  await sleep("50ms");
  const { approved } = await approval;
  if (!approved) return { orderId, status: "rejected" };
  const total = prices.reduce((a, b) => a + b, 0);
  return { orderId, status: "charged", charge: await charge(orderId, total) };
}
