import { FatalError, getStepMetadata, getWorkflowMetadata, RetryableError, sleep } from "workflow";
import { log } from "./log.js";
import { inventory, paymentGateway } from "./services.js";

export interface OrderItem {
  sku: string;
  quantity: number;
  unitPrice: number;
}

export interface Order {
  orderId: string;
  customer: { name: string; email: string; phone: string };
  items: OrderItem[];
}

export interface OrderReceipt {
  orderId: string;
  reservationId: string;
  chargeId: string;
  total: number;
  notified: string[];
  trackingNumber: string;
}

/** The order workflow: deterministic orchestration; every side effect happens in a step. */
export async function processOrder(order: Order): Promise<OrderReceipt> {
  "use workflow";

  const reservationId = await reserveStock(order.orderId, order.items);
  const total = order.items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);

  let chargeId: string;
  try {
    chargeId = await chargePayment(order.orderId, total);
  } catch (error) {
    await releaseStock(reservationId);
    throw error;
  }

  const notified = await Promise.all([
    sendEmail(order.customer.email, `Order ${order.orderId} confirmed`),
    sendSms(order.customer.phone, `Thanks ${order.customer.name}, we got your order.`),
    recordAnalytics("order_paid", { orderId: order.orderId, total }),
  ]);

  // A cooling-off period before the parcel leaves: durable, so a restart does not lose it.
  await sleep(process.env.ORDER_COOLING_OFF ?? "2s");

  const trackingNumber = await shipOrder(order.orderId, reservationId);
  return { orderId: order.orderId, reservationId, chargeId, total, notified, trackingNumber };
}

async function reserveStock(orderId: string, items: OrderItem[]): Promise<string> {
  "use step";
  const reservationId = await inventory.reserve(orderId, items);
  log("reserve-stock", `reserved ${items.length} line(s) as ${reservationId}`);
  return reservationId;
}

export async function chargePayment(orderId: string, amount: number): Promise<string> {
  "use step";
  const { attempt } = getStepMetadata();
  if (amount <= 0) throw new FatalError(`Order ${orderId} has nothing to charge (total ${amount}).`);
  try {
    const chargeId = await paymentGateway.charge(orderId, amount, attempt);
    log("charge-payment", `charged $${amount.toFixed(2)} on attempt ${attempt} → ${chargeId}`);
    return chargeId;
  } catch (error) {
    log("charge-payment", `attempt ${attempt} failed: ${(error as Error).message}; retrying`);
    throw new RetryableError(`payment gateway unavailable (attempt ${attempt})`, {
      retryAfter: "300ms",
      cause: error,
    });
  }
}
chargePayment.maxRetries = 5;

export async function releaseStock(reservationId: string): Promise<void> {
  "use step";
  await inventory.release(reservationId);
  log("release-stock", `released ${reservationId}`);
}

async function sendEmail(to: string, subject: string): Promise<string> {
  "use step";
  log("notify", `email to ${to}: "${subject}"`);
  return `email:${to}`;
}

async function sendSms(to: string, text: string): Promise<string> {
  "use step";
  log("notify", `sms to ${to}: "${text}"`);
  return `sms:${to}`;
}

async function recordAnalytics(event: string, data: Record<string, unknown>): Promise<string> {
  "use step";
  const { workflowRunId } = getWorkflowMetadata();
  log("notify", `analytics ${event} ${JSON.stringify(data)} (run ${workflowRunId})`);
  return `analytics:${event}`;
}

export async function shipOrder(orderId: string, reservationId: string): Promise<string> {
  "use step";
  const trackingNumber = `TRK-${orderId.replace(/\W/g, "").toUpperCase()}-${reservationId.slice(-4)}`;
  log("ship", `handed ${orderId} to the carrier, tracking ${trackingNumber}`);
  return trackingNumber;
}
