import { existsSync } from "node:fs";
import { getWritable } from "workflow";

/**
 * Writes "tick 1", then waits until the file `ack` exists (the test creates it once a reader in another
 * process has received "tick 1"), then writes "tick 2" and closes: the step cannot end before the reader
 * saw its first chunk, so the reader must have been reading live.
 */
async function tick(writable: WritableStream<string>, ack: string): Promise<number> {
  "use step";
  const writer = writable.getWriter();
  await writer.write("tick 1");
  for (let i = 0; !existsSync(ack); i++) {
    if (i > 1_500) throw new Error(`no ack file ${ack} after 30 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await writer.write("tick 2");
  await writer.close();
  return process.pid;
}

export async function ticker(ack: string): Promise<number> {
  "use workflow";
  return await tick(getWritable<string>(), ack);
}
