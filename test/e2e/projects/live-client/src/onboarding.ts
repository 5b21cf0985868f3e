import { getWritable, sleep } from "workflow";

/** One unit of work: reports a line on the run's output stream, returns its square. */
async function work(n: number): Promise<number> {
  "use step";
  const writer = getWritable<string>().getWriter();
  try {
    await writer.write(`line ${n}`);
  } finally {
    writer.releaseLock();
  }
  return n * n;
}

async function closeOutput(): Promise<void> {
  "use step";
  await getWritable<string>().close();
}

/** `count` steps with a durable pause after each, so a page can follow it for a few seconds. */
export async function onboarding(count: number, pause: string): Promise<{ total: number }> {
  "use workflow";
  let total = 0;
  for (let n = 1; n <= count; n++) {
    total += await work(n);
    await sleep(pause);
  }
  await closeOutput();
  return { total };
}
