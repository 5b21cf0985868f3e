import { getWorkflowMetadata, sleep } from "workflow";
import { publish } from "../server/progress.js";

export interface OrderLine {
  sku: string;
  quantity: number;
  unitPrice: number;
}

export interface Receipt {
  orderId: string;
  total: number;
  trackingNumber: string;
}

function report(step: string, message: string): void {
  publish(getWorkflowMetadata().workflowRunId, step, message);
}

async function reserveStock(lines: OrderLine[]): Promise<number> {
  "use step";
  const units = lines.reduce((n, l) => n + l.quantity, 0);
  report("reserveStock", `reserved ${units} units`);
  return units;
}

async function chargeCard(orderId: string, lines: OrderLine[]): Promise<number> {
  "use step";
  const total = lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0);
  report("chargeCard", `charged ${total.toFixed(2)} for ${orderId}`);
  return total;
}

async function ship(orderId: string): Promise<string> {
  "use step";
  const trackingNumber = `TRK-${orderId.slice(-6).toUpperCase()}`;
  report("ship", `handed to the carrier as ${trackingNumber}`);
  return trackingNumber;
}

/** Reserve, charge, wait for the warehouse (a durable sleep), ship. */
export async function processOrder(orderId: string, lines: OrderLine[]): Promise<Receipt> {
  "use workflow";
  await reserveStock(lines);
  const total = await chargeCard(orderId, lines);
  await sleep("1s");
  const trackingNumber = await ship(orderId);
  return { orderId, total, trackingNumber };
}
