import {
  createHook,
  createWebhook,
  defineHook,
  getStepMetadata,
  getWritable,
  type WebhookRequest,
} from "workflow";
import { record } from "./ledger.js";

/** A Standard Schema written by hand (zod, valibot and arktype schemas carry the same `~standard` property). */
const approvalSchema = {
  "~standard": {
    version: 1 as const,
    vendor: "e2e",
    validate(value: unknown) {
      const v = value as { approved?: unknown; by?: unknown };
      if (typeof v !== "object" || v === null || typeof v.approved !== "boolean") {
        return { issues: [{ message: "must be a boolean", path: ["approved"] }] };
      }
      return { value: { approved: v.approved, by: String(v.by ?? "unknown").toUpperCase() } };
    },
  },
};

export const approvalHook = defineHook<{ approved: boolean; by?: string }, { approved: boolean; by: string }>(
  {
    schema: approvalSchema,
  },
);

export async function approval(orderId: string) {
  "use workflow";
  const hook = approvalHook.create({ token: `approval:${orderId}`, metadata: { orderId } });
  const decisions = [];
  for await (const decision of hook) {
    decisions.push(decision);
    if (decisions.length === 2) hook.dispose();
  }
  return decisions;
}

async function writeProgress(
  writable: WritableStream<unknown>,
  count: number,
  delayMs: number,
): Promise<number> {
  "use step";
  const writer = writable.getWriter();
  for (let i = 0; i < count; i++) {
    await writer.write(i % 2 === 0 ? { step: i } : new Uint8Array([i, 255]));
    await new Promise((r) => setTimeout(r, delayMs));
  }
  await writer.close();
  return count;
}

export async function streamer(count: number, delayMs = 10) {
  "use workflow";
  return writeProgress(getWritable({ namespace: "progress" }), count, delayMs);
}

async function waitForAbort(): Promise<string> {
  "use step";
  const { signal } = getStepMetadata();
  record("abortable:start");
  await new Promise((resolve) => signal.addEventListener("abort", resolve));
  record(
    `abortable:aborted:${(signal.reason as Error)?.name}:${(signal.reason as { reason?: string })?.reason}`,
  );
  return "aborted";
}

async function afterAbort(): Promise<void> {
  "use step";
  record("after-abort:ran");
}

export async function cancellable() {
  "use workflow";
  await waitForAbort();
  await afterAbort();
  return "not cancelled";
}

async function answer(request: WebhookRequest): Promise<void> {
  "use step";
  const body = await request.text();
  await request.respondWith(
    new Response(`${request.method} ${new URL(request.url).search} ${body}`, {
      status: 200,
      headers: { "x-from": "step" },
    }),
  );
}

export async function webhookEcho() {
  "use workflow";
  const webhook = createWebhook({ token: "echo-1", respondWith: "manual" });
  const request = await webhook;
  await answer(request);
  return webhook.url;
}

export async function plainHook() {
  "use workflow";
  const hook = createHook<string>({ token: "plain-1" });
  return await hook;
}
