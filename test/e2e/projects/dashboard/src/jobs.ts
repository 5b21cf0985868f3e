import { existsSync } from "node:fs";
import { createHook, FatalError, getWritable, sleep } from "workflow";

/** A step that takes a moment, so the dashboard shows the run running before it completes. */
export async function work(label: string, ms: number, log?: WritableStream<string>): Promise<string> {
  "use step";
  await new Promise((resolve) => setTimeout(resolve, ms));
  if (log) {
    const writer = log.getWriter();
    await writer.write(`${label}: ${ms} ms of work\n`);
    writer.releaseLock();
  }
  return `${label} done`;
}

/** Fails while the file `outage` exists in the project folder. */
export async function charge(id: string): Promise<string> {
  "use step";
  if (existsSync("outage")) throw new FatalError(`payment provider down while charging ${id}`);
  return `charged ${id}`;
}

export async function pipeline(id: string) {
  "use workflow";
  const log = getWritable<string>({ namespace: "log" });
  const a = await work(`${id}/extract`, 400, log);
  await sleep("600ms");
  const b = await work(`${id}/transform`, 400, log);
  const c = await work(`${id}/load`, 300, log);
  return { id, results: [a, b, c] };
}

export async function nap(id: string) {
  "use workflow";
  await sleep("1h");
  return `${id} rested`;
}

export async function billing(id: string) {
  "use workflow";
  const prepared = await work(`${id}/prepare`, 50);
  return { prepared, charge: await charge(id) };
}

export async function approval(id: string) {
  "use workflow";
  const hook = createHook<{ approved: boolean; by?: string }>({ token: `approve:${id}` });
  const decision = await hook;
  return { id, approved: decision.approved, by: decision.by ?? null };
}
