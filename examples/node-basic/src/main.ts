import { start } from "workflow/api";
import { type Order, processOrder } from "./order.js";

const order: Order = {
  orderId: `ord_${Date.now().toString(36)}`,
  customer: { name: "Ada", email: "ada@example.com", phone: "+44 20 7946 0000" },
  items: [
    { sku: "KB-75", quantity: 1, unitPrice: 129.0 },
    { sku: "CABLE-USB-C", quantity: 2, unitPrice: 9.5 },
  ],
};

console.log(
  `Placing order ${order.orderId} (${order.items.length} lines) on the local world (.workflow-data/)`,
);
const run = await start(processOrder, [order]);
console.log(`Started run ${run.runId}\n`);

const receipt = await run.returnValue;
console.log(`\nRun ${run.runId} ${await run.status}:`);
console.log(receipt);
