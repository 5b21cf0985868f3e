/**
 * The app's server code, as a Web-standard handler for `/api/*`: Vite's dev server loads it with
 * `ssrLoadModule`; `npm run build` bundles it (with the workflow plugin) for `server.mjs`.
 *
 * - `POST /api/orders` starts an order and answers `{ runId }`.
 * - `GET /api/orders/:runId/events` streams its progress as server-sent events, then the receipt.
 */
import { getRun, start } from "workflow/api";
import { type OrderLine, processOrder } from "../workflows/order.js";
import { type ProgressEvent, subscribe } from "./progress.js";

const CART: OrderLine[] = [
  { sku: "KB-75", quantity: 1, unitPrice: 129 },
  { sku: "CABLE-USB-C", quantity: 2, unitPrice: 9.5 },
];

export async function api(request: Request): Promise<Response | undefined> {
  const { pathname } = new URL(request.url);
  if (pathname === "/api/orders" && request.method === "POST") {
    const orderId = `ord_${Date.now().toString(36)}`;
    const run = await start(processOrder, [orderId, CART]);
    return Response.json({ runId: run.runId, orderId });
  }
  const events = /^\/api\/orders\/([^/]+)\/events$/.exec(pathname);
  if (events && request.method === "GET") return progressStream(decodeURIComponent(events[1]!));
  return undefined;
}

function progressStream(runId: string): Response {
  const encoder = new TextEncoder();
  let unsubscribe = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: string, data: unknown) =>
        controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      unsubscribe = subscribe(runId, (e: ProgressEvent) => send("progress", e));
      getRun(runId)
        .returnValue.then(
          (receipt) => send("done", receipt),
          (error: Error) => send("failed", { message: error.message }),
        )
        .finally(() => {
          unsubscribe();
          controller.close();
        });
    },
    cancel() {
      unsubscribe();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" },
  });
}
