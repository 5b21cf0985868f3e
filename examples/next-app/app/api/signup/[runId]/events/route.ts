import { getRun } from "workflow/api";
import type { SignupEvent, SignupResult } from "@/workflows/signup";

/**
 * `GET /api/signup/:runId/events`: the run's progress stream as server-sent events, from its first line
 * (whenever the page connects), then `done` with the result or `failed`.
 */
export async function GET(_request: Request, { params }: { params: Promise<{ runId: string }> }) {
  const { runId } = await params;
  const run = getRun<SignupResult>(runId);
  const progress = run.getReadable<SignupEvent>().getReader();
  const encoder = new TextEncoder();
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
