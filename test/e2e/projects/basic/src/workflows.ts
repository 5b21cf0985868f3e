import { existsSync } from "node:fs";
import { FatalError, getStepMetadata, RetryableError, sleep } from "workflow";
import { record } from "./ledger.js";

async function add(a: number, b: number): Promise<number> {
  "use step";
  record(`add:${a}+${b}`);
  return a + b;
}

async function delayed(label: string, ms: number): Promise<string> {
  "use step";
  await new Promise((resolve) => setTimeout(resolve, ms));
  return label;
}

async function failsWith(kind: "fatal" | "plain", message: string): Promise<never> {
  "use step";
  if (kind === "fatal") throw new FatalError(message);
  const error = new Error(message) as Error & { code?: string };
  error.code = "E_PLAIN";
  throw error;
}
failsWith.maxRetries = 0;

async function flaky(untilAttempt: number): Promise<number[]> {
  "use step";
  const { attempt } = getStepMetadata();
  record(`flaky:${attempt}`);
  if (attempt < untilAttempt) throw new RetryableError(`attempt ${attempt} failed`, { retryAfter: 50 });
  return [attempt];
}
flaky.maxRetries = 4;

async function slowRetry(): Promise<number> {
  "use step";
  const { attempt } = getStepMetadata();
  if (attempt === 1) throw new RetryableError("come back later", { retryAfter: 700 });
  // When this (second) attempt runs; `stepStartedAt` is the first attempt's start, as in WDK.
  return Date.now();
}

async function echo<T>(value: T): Promise<T> {
  "use step";
  return value;
}

export async function sequential(n: number): Promise<number> {
  "use workflow";
  let total = 0;
  for (let i = 0; i < n; i++) total = await add(total, 1);
  return total;
}

export async function parallel(): Promise<{ all: number[]; race: string; any: string }> {
  "use workflow";
  const all = await Promise.all([add(1, 1), add(2, 2), add(3, 3)]);
  const race = await Promise.race([delayed("slow", 300), delayed("fast", 10)]);
  const any = await Promise.any([failsWith("fatal", "nope"), delayed("survivor", 20)]);
  return { all, race, any };
}

export async function background(): Promise<number[]> {
  "use workflow";
  const early = add(100, 1);
  const later = await add(1, 1);
  return [await early, later];
}

export async function catchFatal(): Promise<
  { name: string; message: string; isFatal: boolean; code?: string }[]
> {
  "use workflow";
  const caught = [];
  for (const kind of ["fatal", "plain"] as const) {
    try {
      await failsWith(kind, `${kind} failure`);
    } catch (error) {
      const e = error as Error & { code?: string };
      caught.push({ name: e.name, message: e.message, isFatal: FatalError.is(e), code: e.code });
    }
  }
  return caught;
}

export async function retries(): Promise<{ attempts: number[]; delayMs: number }> {
  "use workflow";
  const attempts = await flaky(3);
  const before = Date.now();
  const secondAttemptStartedAt = await slowRetry();
  return { attempts, delayMs: secondAttemptStartedAt - before };
}

export async function roundTrip<T>(value: T): Promise<T> {
  "use workflow";
  return await echo(value);
}

export async function failing(): Promise<void> {
  "use workflow";
  await failsWith("fatal", "the order cannot be charged");
}

export async function sleepy(): Promise<number> {
  "use workflow";
  const first = await add(1, 2);
  await sleep("1.5s");
  return first + (await add(10, 20));
}

async function hangUntilFile(file: string): Promise<string> {
  "use step";
  record(`hang:${getStepMetadata().attempt}`);
  console.log("STEP_STARTED hang");
  // The test kills the process while the first attempt waits here; the next process's attempt finds the file.
  while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 20));
  return "released";
}

export async function crashInStep(file: string): Promise<string> {
  "use workflow";
  const sum = await add(2, 3);
  const released = await hangUntilFile(file);
  return `${sum}:${released}`;
}

export async function throwsInBody(): Promise<void> {
  "use workflow";
  await add(1, 2);
  throw new TypeError("thrown by the workflow body");
}
