/**
 * The app's server code, as a Web-standard handler for `/api/*`: Vite's dev server loads it with
 * `ssrLoadModule`; `npm run build` bundles it (with the workflow plugin) for `server.mjs`.
 *
 * - `POST /api/orders` starts an order and answers `{ runId }`.
 * - `GET /api/orders/:runId/events` streams its progress as server-sent events, then the receipt.
 */
import { getRun, start } from "workflow/api";
import { type OrderLine, type ProgressEvent, processOrder } from "../workflows/order.js";

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

/** The run's durable progress stream as server-sent events (from the first line, whenever the page asks). */
function progressStream(runId: string): Response {
  const encoder = new TextEncoder();
  const run = getRun<unknown>(runId);
  const progress = run.getReadable<ProgressEvent>().getReader();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (event: string, data: unknown) =>
        controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      try {
        for (let next = await progress.read(); !next.done; next = await progress.read()) {
          send("progress", next.value);
        }
        send("done", await run.returnValue);
      } catch (error) {
        send("failed", { message: (error as Error).message });
      } finally {
        controller.close();
      }
    },
    cancel() {
      void progress.cancel(); // the page went away: stop following the stream
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" },
  });
}
