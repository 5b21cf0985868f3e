/** Workflows under flow control; their steps write what they did to the LEDGER file (one line per event). */
import { appendFileSync } from "node:fs";
import { getStepMetadata } from "workflow";

function note(line: string): void {
  if (process.env.LEDGER) appendFileSync(process.env.LEDGER, `${line}\n`);
}

async function work(tag: string, ms: number): Promise<string> {
  "use step";
  const { stepId, attempt } = getStepMetadata();
  note(`start ${stepId} ${Date.now()} ${process.pid} ${tag} ${attempt}`);
  // The first attempt of a "hang" step never ends by itself: the test kills its worker.
  await new Promise((resolve) => setTimeout(resolve, tag.startsWith("hang") && attempt === 1 ? 600_000 : ms));
  note(`end ${stepId} ${Date.now()} ${process.pid} ${tag} ${attempt}`);
  return tag;
}

/** At most 3 runs execute steps at once. */
export async function limited(tag: string): Promise<string> {
  "use workflow";
  await work(`${tag}-a`, 40);
  return await work(`${tag}-b`, 40);
}
limited.concurrency = { limit: 3 };

/** At most 4 starts per second. */
export async function throttled(tag: string): Promise<string> {
  "use workflow";
  return await work(tag, 5);
}
throttled.throttle = { limit: 4, period: "1s" };

/** Starts within 400 ms of each other (per key) collapse into one run with the last arguments. */
export async function debounced(key: string, n: number): Promise<string> {
  "use workflow";
  return await work(`${key}-${n}`, 5);
}
debounced.debounce = { period: "400ms", key: (key: string) => key };

/** One run at a time: the order in which waiting runs get the slot follows their priority. */
export async function single(tag: string, ms: number): Promise<string> {
  "use workflow";
  return await work(tag, ms);
}
single.concurrency = { limit: 1 };
