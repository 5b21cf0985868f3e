// Child process for the multi-process race test: appends `count` steps to one run, retrying whenever
// another process appended first, and takes part in a lease race. Prints what it won as JSON.
import { existsSync } from "node:fs";
import { isWorldError } from "@wfkit/world";
import { createLocalWorld } from "../local-world.js";

const [dataDir, runId, who, countText, goFile] = process.argv.slice(2);
if (!dataDir || !runId || !who || !countText || !goFile) {
  throw new Error("usage: race-child.ts <dataDir> <runId> <who> <count> <goFile>");
}
const world = createLocalWorld({ dataDir, watch: false });
// Start together so the appends really interleave: say we are ready, then wait for the parent's signal.
process.stdout.write("ready\n");
while (!existsSync(goFile)) await new Promise((r) => setTimeout(r, 1));

const lease = await world.acquireLease(runId, who, 60_000);
let conflicts = 0;
for (let i = 0; i < Number(countText); i++) {
  for (;;) {
    const head = (await world.getRun(runId))!.lastSeq;
    try {
      await world.append(runId, head, [
        { type: "step_created", correlationId: `${who}-${i}`, data: { stepName: "x", input: "[]" } },
      ]);
      break;
    } catch (e) {
      if (!isWorldError(e, "APPEND_CONFLICT")) throw e;
      conflicts++;
    }
  }
}
await world.close();
process.stdout.write(`${JSON.stringify({ who, gotLease: lease !== undefined, conflicts })}\n`);
