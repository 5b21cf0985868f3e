import { sleep } from "workflow";

export async function fulfil(orderId: string) {
  "use workflow";
  const reservation = await reserve(orderId);
  await sleep("1h");
  return ship(reservation);
}

export async function quick(orderId: string) {
  "use workflow";
  return reserve(orderId);
}

export async function reserve(orderId: string) {
  "use step";
  return `reserved:${orderId}`;
}

export async function ship(reservation: string) {
  "use step";
  return `shipped:${reservation}`;
}

export async function audit(orderId: string) {
  "use step";
  return `audited:${orderId}`;
}
