/**
 * Workflows shaped like the cases of WDK's own end-to-end suite (same case names and behaviour, our own code).
 */
import {
  createHook,
  createWebhook,
  FatalError,
  fetch,
  getStepMetadata,
  getWorkflowMetadata,
  getWritable,
  RetryableError,
  sleep,
} from "workflow";
import { start } from "workflow/api";
import { throwFromHelper } from "./helpers.js";

async function add(a: number, b: number): Promise<number> {
  "use step";
  return a + b;
}

export async function addTenWorkflow(input: number) {
  "use workflow";
  const a = await add(input, 2);
  const b = await add(a, 3);
  return add(b, 5);
}

async function delayed(label: string, ms: number): Promise<string> {
  "use step";
  await new Promise((resolve) => setTimeout(resolve, ms));
  return label;
}

async function failAfter(message: string, ms: number): Promise<never> {
  "use step";
  await new Promise((resolve) => setTimeout(resolve, ms));
  throw new FatalError(message);
}

export async function promiseAllWorkflow() {
  "use workflow";
  const [a, b, c] = await Promise.all([delayed("A", 120), delayed("B", 10), delayed("C", 60)]);
  return a + b + c;
}

export async function promiseRaceWorkflow() {
  "use workflow";
  return Promise.race([delayed("slow", 1500), delayed("fast", 10), delayed("medium", 700)]);
}

export async function promiseAnyWorkflow() {
  "use workflow";
  return Promise.any([failAfter("first fails", 5), delayed("second", 300), delayed("third", 900)]);
}

/** Many steps raced at once, every one of them recorded (WDK's race stress case). */
export async function promiseRaceStressTestWorkflow() {
  "use workflow";
  const winners: string[] = [];
  for (let round = 0; round < 5; round++) {
    winners.push(
      await Promise.race(
        Array.from({ length: 6 }, (_, i) => delayed(`r${round}-${i}`, i === 2 ? 5 : 150 + i * 20)),
      ),
    );
  }
  return winners;
}

async function genReadableStream(): Promise<ReadableStream<Uint8Array>> {
  "use step";
  const encoder = new TextEncoder();
  return new ReadableStream({
    async start(controller) {
      for (let i = 0; i < 5; i++) {
        controller.enqueue(encoder.encode(`${i}\n`));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      controller.close();
    },
  });
}

export async function readableStreamWorkflow() {
  "use workflow";
  return genReadableStream();
}

export async function hookWorkflow(token: string, customData: string) {
  "use workflow";
  using hook = createHook<{ message: string; done?: boolean; customData: string }>({
    token,
    metadata: { customData },
  });
  const payloads: { message: string; customData: string }[] = [];
  for await (const payload of hook) {
    payloads.push({ message: payload.message, customData: payload.customData });
    if (payload.done) break;
  }
  return payloads;
}

async function readRequest(request: Request) {
  "use step";
  return { method: request.method, url: new URL(request.url).pathname, body: await request.json() };
}

async function respond(request: Request & { respondWith(response: Response): Promise<void> }) {
  "use step";
  await request.respondWith(Response.json({ ok: true, from: "step" }, { status: 201 }));
}

export async function webhookWorkflow() {
  "use workflow";
  using plain = createWebhook();
  using manual = createWebhook({ respondWith: "manual" });
  using fixed = createWebhook({ respondWith: new Response("fixed", { status: 200 }) });
  await reportWebhooks(getWritable({ namespace: "tokens" }), [plain.token, manual.token, fixed.token]);
  const first = await plain;
  const second = await manual;
  await respond(second);
  const third = await fixed;
  return [await readRequest(first), await readRequest(second), await readRequest(third)];
}

/** The webhook tokens are random: the harness reads them from a stream of the run. */
async function reportWebhooks(writable: WritableStream<string[]>, tokens: string[]) {
  "use step";
  const writer = writable.getWriter();
  await writer.write(tokens);
  await writer.close();
}

export async function sleepingWorkflow() {
  "use workflow";
  const startedAt = Date.now();
  await sleep("1s");
  const afterDuration = Date.now();
  await sleep(new Date(Date.now() + 300));
  const afterDate = Date.now();
  return { slept: afterDuration - startedAt, sleptUntilDate: afterDate - afterDuration };
}

async function nullByteStep(): Promise<string> {
  "use step";
  return "null byte \0";
}

export async function nullByteWorkflow() {
  "use workflow";
  return nullByteStep();
}

async function stepMetadata() {
  "use step";
  const m = getStepMetadata();
  return { stepId: m.stepId, stepName: m.stepName, attempt: m.attempt, startedAt: m.stepStartedAt.getTime() };
}

export async function workflowAndStepMetadataWorkflow() {
  "use workflow";
  const workflowMetadata = getWorkflowMetadata();
  const step = await stepMetadata();
  return {
    workflowRunId: workflowMetadata.workflowRunId,
    workflowName: workflowMetadata.workflowName,
    startedAtIsDate: workflowMetadata.workflowStartedAt instanceof Date,
    step,
  };
}

async function writeTo(writable: WritableStream<string>, lines: string[]) {
  "use step";
  const writer = writable.getWriter();
  for (const line of lines) await writer.write(line);
  writer.releaseLock();
}

async function closeIt(writable: WritableStream<string>) {
  "use step";
  await writable.close();
}

export async function outputStreamWorkflow() {
  "use workflow";
  const writable = getWritable<string>();
  const named = getWritable<string>({ namespace: "side" });
  await writeTo(writable, ["Hello", "World"]);
  await writeTo(named, ["side 1"]);
  await closeIt(writable);
  await closeIt(named);
  return "done";
}

async function writeFromInside() {
  "use step";
  const writer = getWritable<{ n: number }>().getWriter();
  for (let n = 1; n <= 3; n++) await writer.write({ n });
  await writer.close();
}

export async function outputStreamInsideStepWorkflow() {
  "use workflow";
  await writeFromInside();
  return "done";
}

export async function fetchWorkflow(url: string) {
  "use workflow";
  const response = await fetch(`${url}/todo/1`);
  return { status: response.status, body: await response.json() };
}

async function failUntilThird(): Promise<number> {
  "use step";
  const { attempt } = getStepMetadata();
  if (attempt < 3) throw new RetryableError(`attempt ${attempt} fails`, { retryAfter: 10 });
  return attempt;
}

export async function retryAttemptCounterWorkflow() {
  "use workflow";
  return failUntilThird();
}

async function alwaysFatal(): Promise<never> {
  "use step";
  console.log(`FATAL_ATTEMPT ${getStepMetadata().attempt}`);
  throw new FatalError("not worth retrying");
}

export async function retryableAndFatalErrorWorkflow() {
  "use workflow";
  const retried = await failUntilThird();
  try {
    await alwaysFatal();
    return { retried, fatal: "not thrown" };
  } catch (error) {
    return { retried, fatal: (error as Error).message, isFatal: FatalError.is(error) };
  }
}

export async function crossFileErrorWorkflow() {
  "use workflow";
  await throwFromHelper("thrown in helpers.ts");
  return "unreachable";
}

export async function errorWorkflowUncaught() {
  "use workflow";
  throw new TypeError("the workflow itself failed");
}

async function double(x: number): Promise<number> {
  "use step";
  return x * 2;
}

async function applyStep(fn: (x: number) => Promise<number>, x: number): Promise<number> {
  "use step";
  return fn(x);
}

export async function stepFunctionPassingWorkflow() {
  "use workflow";
  const direct = await double(5);
  const passed = await applyStep(double, 7);
  return { direct, passed };
}

export async function stepFunctionWithClosureWorkflow(prefix: string) {
  "use workflow";
  const factor = 3;
  const scale = async (x: number) => {
    "use step";
    return `${prefix}${x * factor}`;
  };
  return { direct: await scale(2), passed: await applyAny(scale, 4) };
}

async function applyAny(fn: (x: number) => Promise<string>, x: number): Promise<string> {
  "use step";
  return fn(x);
}

export async function childWorkflow(n: number) {
  "use workflow";
  return add(n, 100);
}

async function spawnChild(n: number): Promise<string> {
  "use step";
  const run = await start(childWorkflow, [n]);
  return run.runId;
}

export async function spawnWorkflowFromStepWorkflow(n: number) {
  "use workflow";
  const childRunId = await spawnChild(n);
  return { childRunId };
}

export async function hookCleanupTestWorkflow(token: string) {
  "use workflow";
  using hook = createHook<{ n: number }>({ token });
  const { n } = await hook;
  return n;
}

/** A nested step written as a function declaration, passed to another step as a value. */
export async function nestedStepDeclarationWorkflow(greeting: string) {
  "use workflow";
  const punctuation = "!";
  async function greet(x: number): Promise<string> {
    "use step";
    return `${greeting} #${x}${punctuation}`;
  }
  return { direct: await greet(1), passed: await applyGreet(greet, 2) };
}

async function applyGreet(fn: (x: number) => Promise<string>, x: number): Promise<string> {
  "use step";
  return fn(x);
}
