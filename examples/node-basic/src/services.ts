/**
 * Stand-ins for the outside world the order talks to. The payment gateway fails its first two calls for
 * each order, so the demo shows retries; everything else answers at once.
 */
import { randomUUID } from "node:crypto";
import type { OrderItem } from "./order.js";

export const inventory = {
  async reserve(orderId: string, items: OrderItem[]): Promise<string> {
    if (items.length === 0) throw new Error(`Order ${orderId} has no items to reserve.`);
    return `res_${randomUUID().slice(0, 8)}`;
  },
  async release(_reservationId: string): Promise<void> {},
};

export const paymentGateway = {
  async charge(orderId: string, amount: number, attempt: number): Promise<string> {
    if (attempt <= 2) throw new Error("503 Service Unavailable");
    return `ch_${orderId}_${Math.round(amount * 100)}`;
  },
};
