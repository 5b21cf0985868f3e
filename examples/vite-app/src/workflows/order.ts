import { getWritable, sleep } from "workflow";

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

/** A progress line: steps write them to the run's durable stream; the page follows it live. */
export interface ProgressEvent {
  step: string;
  message: string;
  at: number;
}

async function report(step: string, message: string): Promise<void> {
  const writer = getWritable<ProgressEvent>().getWriter();
  try {
    await writer.write({ step, message, at: Date.now() });
  } finally {
    writer.releaseLock();
  }
}

/** Ends the progress stream, so readers finish as soon as the order does. */
async function closeProgress(): Promise<void> {
  "use step";
  await getWritable<ProgressEvent>().close();
}

async function reserveStock(lines: OrderLine[]): Promise<number> {
  "use step";
  const units = lines.reduce((n, l) => n + l.quantity, 0);
  await report("reserveStock", `reserved ${units} units`);
  return units;
}

async function chargeCard(orderId: string, lines: OrderLine[]): Promise<number> {
  "use step";
  const total = lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0);
  await report("chargeCard", `charged ${total.toFixed(2)} for ${orderId}`);
  return total;
}

async function ship(orderId: string): Promise<string> {
  "use step";
  const trackingNumber = `TRK-${orderId.slice(-6).toUpperCase()}`;
  await report("ship", `handed to the carrier as ${trackingNumber}`);
  return trackingNumber;
}

/** Reserve, charge, wait for the warehouse (a durable sleep), ship. */
export async function processOrder(orderId: string, lines: OrderLine[]): Promise<Receipt> {
  "use workflow";
  await reserveStock(lines);
  const total = await chargeCard(orderId, lines);
  await sleep("1s");
  const trackingNumber = await ship(orderId);
  await closeProgress();
  return { orderId, total, trackingNumber };
}
