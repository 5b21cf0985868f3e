/**
 * Live updates for the dashboard as server-sent events, driven by the world's own notifications
 * (`World.subscribe`: file watching, LISTEN/NOTIFY, pub/sub, depending on the world): nothing here polls the world.
 * A comment line every `heartbeatMs` keeps proxies from closing an idle connection.
 */
import type { World } from "@wfkit/core";

export function liveEvents(
  world: World,
  opts: { runId?: string; signal: AbortSignal; heartbeatMs?: number },
): Response {
  const encoder = new TextEncoder();
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const send = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          stop();
        }
      };
      const unsubscribe = world.subscribe((n) => {
        send(
          `event: run\ndata: ${JSON.stringify({ runId: n.runId, status: n.status, kind: n.kind, lastSeq: n.lastSeq })}\n\n`,
        );
      }, opts.runId);
      // Stream writes are not run events: follow the run's streams too, where the world can tell (a world notifies
      // stream writes made through its own instance, so this is live when the dashboard runs inside the app).
      const streamStops: (() => void)[] = [];
      if (opts.runId && world.subscribeStream && world.listStreams) {
        const runId = opts.runId;
        void world.listStreams(runId).then(
          (streams) => {
            for (const { name } of streams) {
              if (closed) return;
              streamStops.push(
                world.subscribeStream!(runId, name, () =>
                  send(`event: stream\ndata: ${JSON.stringify({ runId, name })}\n\n`),
                ),
              );
            }
          },
          () => {},
        );
      }
      const heartbeat = setInterval(() => send(": keep-alive\n\n"), opts.heartbeatMs ?? 15_000);
      heartbeat.unref?.();
      stop = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unsubscribe();
        for (const stopStream of streamStops) stopStream();
        try {
          controller.close();
        } catch {
          // already closed by the client going away
        }
      };
      opts.signal.addEventListener("abort", () => stop(), { once: true });
      // Tells the browser to reconnect after 2s if the connection drops, and that the stream is live.
      send(`retry: 2000\nevent: ready\ndata: {}\n\n`);
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
    },
  });
}
