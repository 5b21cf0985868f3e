// Child process for the read-only data directory test, run as a user who may read the directory but not
// write it: it reports what reading gave and how each kind of write was refused.
import { isWorldError } from "@wfkit/world";
import { createLocalWorld } from "../local-world.js";

const [dataDir, runId] = process.argv.slice(2);
if (!dataDir || !runId) throw new Error("usage: read-only-child.ts <dataDir> <runId>");
const world = createLocalWorld({ dataDir });
const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
    return { code: "none", message: "" };
  } catch (e) {
    return isWorldError(e) ? { code: e.code, message: e.message } : { code: "raw", message: String(e) };
  }
};
const out = {
  listed: (await world.listRuns()).items.map((r) => r.runId),
  events: (await world.readEvents(runId)).map((e) => e.type),
  stream: (await world.readStream!(runId, "out")).chunks.map((c) => c.data),
  lease: await refusal(world.acquireLease(runId, "reader", 1_000)),
  append: await refusal(world.append(runId, 2, [{ type: "run_cancelled", data: {} }])),
  create: await refusal(world.createRun({ workflowName: "wf", input: "[]" })),
  writeStream: await refusal(world.writeStream!(runId, "out", ["more"])),
};
await world.close();
process.stdout.write(JSON.stringify(out));
