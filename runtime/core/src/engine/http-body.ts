/**
 * Request bodies read with a limit. The workflow endpoints are reachable by anyone who can reach the server
 * (webhook URLs are public by design), and a body is held in memory and then stored in the run's log, so an
 * unbounded read lets one caller exhaust the process's memory or the world's storage.
 */

/** 4 MiB: generous for JSON webhooks (GitHub sends at most 25 MB, Stripe a few KiB), small enough to store. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export class PayloadTooLargeError extends Error {
  readonly code = "PAYLOAD_TOO_LARGE";
  readonly status = 413;
  constructor(
    readonly limit: number,
    what: string,
  ) {
    super(
      `The ${what} is larger than ${limit} bytes. Send a smaller body, or raise the limit with ` +
        "WORKFLOW_MAX_BODY_BYTES (or createHandlers({ maxBodyBytes })).",
    );
    this.name = "PayloadTooLargeError";
  }

  static is(error: unknown): error is PayloadTooLargeError {
    return (error as { code?: unknown })?.code === "PAYLOAD_TOO_LARGE";
  }

  /** The HTTP answer: 413, and the connection closed so the rest of the upload is not read. */
  toResponse(): Response {
    return new Response(this.message, {
      status: 413,
      headers: { "content-type": "text/plain; charset=utf-8", connection: "close" },
    });
  }
}

/** `WORKFLOW_MAX_BODY_BYTES`, else the default. */
export function maxBodyBytesFromEnv(): number {
  const raw = process.env.WORKFLOW_MAX_BODY_BYTES;
  if (raw === undefined || raw === "") return DEFAULT_MAX_BODY_BYTES;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`WORKFLOW_MAX_BODY_BYTES must be a positive integer number of bytes, got "${raw}".`);
  }
  return n;
}

/**
 * The whole body (undefined when there is none), refused with `PayloadTooLargeError` as soon as it passes `limit`
 * bytes: from `Content-Length` before anything is read, otherwise while streaming (a chunked upload).
 */
export async function readBodyLimited(
  request: Request,
  limit: number,
  what = "request body",
): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) {
    await request.body?.cancel().catch(() => {});
    throw new PayloadTooLargeError(limit, what);
  }
  if (!request.body) return undefined;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new PayloadTooLargeError(limit, what);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
