/**
 * Workflows written the way WDK's documentation writes them (`using` hooks, `getConflict()`, step metadata,
 * streams, the sandbox globals), run by `src/run.ts` through `node --import workflow/register`.
 */
import {
  createHook,
  createWebhook,
  FatalError,
  fetch,
  getStepMetadata,
  getWorkflowMetadata,
  getWritable,
  type RequestWithResponse,
  RetryableError,
  type StepMetadata,
  sleep,
} from "workflow";
import { callModel } from "./model-client.js";

export async function approval(token: string) {
  "use workflow";
  // `using` disposes the hook when the function returns.
  using hook = createHook<{ approved: boolean; comment: string }>({ token });
  const result = await hook;
  return result.approved ? `approved: ${result.comment}` : "rejected";
}

async function chargeOrder(orderId: string) {
  "use step";
  return `charged ${orderId}`;
}

export async function processOrder(orderId: string) {
  "use workflow";
  using hook = createHook<{ shipped: boolean }>({ token: `order:${orderId}` });
  const conflict = await hook.getConflict();
  if (conflict) return { dedupedTo: conflict.runId };
  const charged = await chargeOrder(orderId);
  const update = await hook;
  return { charged, shipped: update.shipped };
}

export async function scopedHook(channelId: string) {
  "use workflow";
  const received: string[] = [];
  {
    using hook = createHook<{ message: string }>({ token: `channel:${channelId}` });
    received.push((await hook).message);
  } // disposed here: the token is free again
  using again = createHook<{ message: string }>({ token: `channel:${channelId}` });
  const conflict = await again.getConflict();
  received.push((await again).message);
  return { received, conflict };
}

async function sendAck(request: RequestWithResponse, message: string) {
  "use step";
  await request.respondWith(Response.json({ received: true, message }));
}

export async function webhookCollector() {
  "use workflow";
  using webhook = createWebhook({ respondWith: "manual" });
  const request = await webhook;
  const data = await request.json();
  await sendAck(request, `got ${data.type}`);
  return { type: data.type, urlEndsWithToken: webhook.url.endsWith(webhook.token) };
}

async function describeStep(): Promise<StepMetadata> {
  "use step";
  // Returned as is: the metadata is serializable (its AbortSignal is not enumerable).
  return getStepMetadata();
}

export async function metadata() {
  "use workflow";
  const step = await describeStep();
  const wf = getWorkflowMetadata();
  return {
    stepName: step.stepName,
    stepIdStartsWithRun: step.stepId.startsWith(wf.workflowRunId),
    stepStartedAtIsDate: step.stepStartedAt instanceof Date,
    attempt: step.attempt,
    workflowName: wf.workflowName,
  };
}

async function flaky() {
  "use step";
  const { attempt, stepStartedAt } = getStepMetadata();
  if (attempt < 3) throw new RetryableError(`attempt ${attempt}`, { retryAfter: "300ms" });
  // stepStartedAt is the first attempt's start, so this measures both back-offs.
  return { attempt, sinceFirstStartMs: Date.now() - stepStartedAt.getTime() };
}

export async function retryTiming() {
  "use workflow";
  return await flaky();
}

export async function sleeper() {
  "use workflow";
  const started = Date.now();
  await sleep("1h");
  await sleep("2d");
  return { sleptMs: Date.now() - started };
}

async function writeLine(line: string) {
  "use step";
  const writer = getWritable<string>().getWriter();
  await writer.write(`${line}\n`);
  writer.releaseLock();
}

async function closeStream() {
  "use step";
  await getWritable().close();
}

export async function lines(count: number) {
  "use workflow";
  for (let i = 0; i < count; i++) await writeLine(`line ${i}`);
  await closeStream();
  return count;
}

async function produceStream(): Promise<ReadableStream<number>> {
  "use step";
  return new ReadableStream<number>({
    start(controller) {
      controller.enqueue(1);
      controller.error(new Error("Stream failed"));
    },
  });
}

async function consumeStream(stream: ReadableStream<number>) {
  "use step";
  try {
    for await (const _value of stream as unknown as AsyncIterable<number>) {
      // consumed
    }
  } catch {
    throw new FatalError("Stream failed");
  }
}

export async function streamError() {
  "use workflow";
  const stream = await produceStream();
  await consumeStream(stream);
}

export async function sandboxGlobals(url: string) {
  "use workflow";
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("hello"));
  const bytes = new Uint8Array(digest);
  const hex = (bytes as Uint8Array & { toHex(): string }).toHex();
  const base64 = (bytes as Uint8Array & { toBase64(): string }).toBase64();
  const back = (Uint8Array as unknown as { fromHex(s: string): Uint8Array }).fromHex(hex);
  // WDK's pattern for libraries (the AI SDK) that call the global fetch: make it the workflow fetch step.
  globalThis.fetch = fetch;
  const fetched = await callModel(url);
  return { hex, base64, roundTrip: back.length === 32, fetched };
}

export async function failing() {
  "use workflow";
  throw new Error("plain failure");
}

async function echo(value: unknown) {
  "use step";
  return value;
}

/** Catches a step-argument serialization failure by the message WDK's documentation matches on. */
export async function badStepArgument() {
  "use workflow";
  try {
    await echo(() => "a closure");
    return "accepted";
  } catch (err) {
    return (err as Error).message.startsWith("Failed to serialize step arguments")
      ? "caught"
      : (err as Error).message;
  }
}
