/**
 * Webhooks: hooks resumed by an HTTP request at `<base URL>/.well-known/workflow/v1/webhook/<token>`.
 *
 * The payload is the request itself (method, URL, headers, body bytes). It travels through the log as a
 * `wfkit.webhookRequest` value, so that wherever it is revived (workflow code, then a step it is passed to) it
 * is a `Request` that still knows where its answer goes: with `respondWith: "manual"` a step calls
 * `request.respondWith(response)`, which stores the response in a world stream of the run named after the
 * request; `resumeWebhook`, possibly in another process, reads it from there and answers the HTTP caller.
 */
import { createHash, randomBytes } from "node:crypto";
import type { World } from "@wfkit/world";
import { HookNotFoundError } from "../sandbox/hook-errors.js";
import { adoptBody, deserialize, registerReducer, serializeAsync } from "../serialization/index.js";
import { realmKitOf } from "../vm/index.js";
import type { Engine } from "./engine.js";
import { maxBodyBytesFromEnv, PayloadTooLargeError, readBodyLimited } from "./http-body.js";
import { stepContext } from "./step-context.js";
import { workflowBaseUrl } from "./workflow-url.js";

export const WEBHOOK_PATH = "/.well-known/workflow/v1/webhook/";

/** The URL a webhook with this token answers at (`WORKFLOW_BASE_URL`, or what an integration configured). */
export function webhookUrl(token: string): string {
  return `${workflowBaseUrl().replace(/\/+$/, "")}${WEBHOOK_PATH}${encodeURIComponent(token)}`;
}

interface WebhookRequestData {
  runId: string;
  /** Set for `respondWith: "manual"`: the stream the answer is written to. */
  replyTo?: string;
  method: string;
  url: string;
  headers: [string, string][];
  body?: Uint8Array;
}

const requests = new WeakMap<object, WebhookRequestData>();

function replyStream(replyTo: string): string {
  return `wfkit.webhook-response.${replyTo}`;
}

/**
 * A `Request` carrying `data`, with `respondWith` (host code only; workflow code cannot answer HTTP). In a run of
 * the workflow realm it is that realm's Request, and its `respondWith` a realm function.
 */
function webhookRequest(data: WebhookRequestData, realm: typeof globalThis): Request {
  const inSandbox = realm !== globalThis;
  const kit = realmKitOf(realm);
  const body =
    data.body && data.method !== "GET" && data.method !== "HEAD" ? Uint8Array.from(data.body) : null;
  const RequestOfRealm = (kit ? (realm as { Request: typeof Request }).Request : Request) as typeof Request;
  const request = new RequestOfRealm(data.url, { method: data.method, headers: data.headers, body });
  requests.set(request, data);
  // In workflow code, .json()/.text()/.arrayBuffer() run as steps.
  adoptBody(request, body, realm);
  const refuse = () => {
    throw new Error(
      'request.respondWith() sends the HTTP answer, which is I/O: pass the request to a "use step" function ' +
        "and call it there.",
    );
  };
  Object.defineProperty(request, "respondWith", {
    value: inSandbox
      ? kit
        ? kit.guard(refuse, "respondWith")
        : refuse
      : (response: Response) => respond(data, response),
  });
  return request;
}

async function respond(data: WebhookRequestData, response: Response): Promise<void> {
  if (!data.replyTo) {
    throw new Error(
      'request.respondWith() only works for webhooks created with createWebhook({ respondWith: "manual" }); this ' +
        "webhook's caller has already been answered.",
    );
  }
  const ctx = stepContext.getStore();
  if (!ctx?.world) {
    throw new Error('request.respondWith() must be called inside a "use step" function of the run.');
  }
  const world = await ctx.world();
  const answer = await serializeAsync(response, { path: "webhook response" });
  try {
    await world.writeStream!(data.runId, replyStream(data.replyTo), [answer], { close: true });
  } catch (error) {
    if ((error as { code?: string }).code === "STREAM_CLOSED") {
      throw new Error("request.respondWith() was already called for this request; a request has one answer.");
    }
    throw error;
  }
}

registerReducer({
  tag: "wfkit.webhookRequest",
  reduce: (value) => (typeof value === "object" && value !== null ? requests.get(value) : undefined),
  revive: (data, realm) => webhookRequest(data as WebhookRequestData, realm),
});

export interface ResumeWebhookOptions {
  /** How long a "manual" webhook waits for `respondWith` before answering 504. Default
   *  `WORKFLOW_WEBHOOK_TIMEOUT_MS`, else 30 000 ms. */
  timeoutMs?: number;
  /** Largest request body delivered; a larger one is answered 413. Default `WORKFLOW_MAX_BODY_BYTES`, else 4 MiB. */
  maxBodyBytes?: number;
}

/**
 * Answers an HTTP request to a webhook URL: delivers it to the waiting run and returns the response for the
 * caller — 202 by default, the webhook's static `respondWith` response, or (with "manual") the response a step
 * gives through `request.respondWith()`, 504 when none comes in time. Rejects with `HookNotFoundError` (its
 * `token` set) when no live webhook has the token, as WDK documents (plain hooks are not resumable this way);
 * the `webhook` handler of `createHandlers()` answers that with 404 and an empty body.
 */
export async function resumeWebhookWith(
  engine: Engine,
  token: string,
  request: Request,
  opts: ResumeWebhookOptions = {},
): Promise<Response> {
  const world = await engine.world();
  const hook = await world.getHookByToken(token);
  if (hook?.kind !== "webhook") throw new HookNotFoundError(token);
  const options = (hook.options ? deserialize(hook.options) : {}) as { respondWith?: unknown };
  const manual = options.respondWith === "manual";
  const data: WebhookRequestData = {
    runId: hook.runId,
    method: request.method,
    url: request.url,
    headers: [...(request.headers as unknown as Iterable<[string, string]>)],
  };
  try {
    const body = await readBodyLimited(
      request,
      opts.maxBodyBytes ?? maxBodyBytesFromEnv(),
      "webhook request body",
    );
    if (body) data.body = body;
  } catch (error) {
    if (PayloadTooLargeError.is(error)) return error.toResponse();
    throw error;
  }
  if (manual) data.replyTo = randomBytes(12).toString("base64url");
  await engine.resumeHook(token, webhookRequest(data, globalThis), "webhook", deliveryIdOf(token, request));
  if (manual) {
    const timeoutMs = opts.timeoutMs ?? timeoutFromEnv();
    const answer = await firstChunk(world, hook.runId, replyStream(data.replyTo!), timeoutMs);
    if (answer === undefined) {
      return new Response(
        `Workflow run did not send a response: it did not answer this webhook request within ${timeoutMs} ms. It was delivered to run ` +
          `${hook.runId}, whose webhook uses respondWith: "manual": a step must call request.respondWith(response). ` +
          "(see docs: errors/webhook-response-not-sent)",
        { status: 504, headers: { "content-type": "text/plain; charset=utf-8" } },
      );
    }
    return deserialize(answer) as Response;
  }
  if (options.respondWith instanceof Response) return options.respondWith;
  return new Response(null, { status: 202 });
}

/** The first chunk of a stream, waiting up to `timeoutMs` for it to be written. */
async function firstChunk(
  world: World,
  runId: string,
  name: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const page = await world.readStream!(runId, name, { limit: 1 });
    if (page.chunks[0]) return page.chunks[0].data;
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await new Promise<void>((resolve) => {
      let off: (() => void) | undefined;
      // The poll bounds the wait when another process answers and this world cannot see its writes live.
      const timer = setTimeout(done, Math.min(left, 250));
      function done() {
        clearTimeout(timer);
        off?.();
        resolve();
      }
      off = world.subscribeStream?.(runId, name, done);
    });
  }
}

/**
 * A sender that retries a webhook (after a timeout or a 5xx) can mark the retries with the same
 * `Idempotency-Key` header: they then make one delivery, not one per attempt. Without the header every request
 * is a delivery of its own.
 */
function deliveryIdOf(token: string, request: Request): string | undefined {
  const key = request.headers.get("idempotency-key");
  if (!key) return undefined;
  return `idem_${createHash("sha256").update(token).update("\u0000").update(key).digest("base64url")}`;
}

function timeoutFromEnv(): number {
  const raw = process.env.WORKFLOW_WEBHOOK_TIMEOUT_MS;
  const ms = raw ? Number(raw) : Number.NaN;
  return Number.isFinite(ms) && ms > 0 ? ms : 30_000;
}

/** Checks `createWebhook({ respondWith })` in workflow code. */
export function checkRespondWith(value: unknown): void {
  if (value === undefined || value === "manual") return;
  const looksLikeResponse =
    typeof value === "object" && value !== null && typeof (value as Response).status === "number";
  if (!looksLikeResponse) {
    throw new TypeError(
      `Invalid \`respondWith\` value: ${describeValue(value)}. createWebhook({ respondWith }): respondWith must be a ` +
        'Response (sent to every caller) or "manual" (a step answers with request.respondWith(response)); leave it ' +
        "out to answer 202 Accepted. (see docs: errors/webhook-invalid-respond-with-value)",
    );
  }
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" && value !== null) return Object.prototype.toString.call(value);
  return String(value);
}
