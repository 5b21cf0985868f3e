// Child process for the two-process test: creates a run in the given data dir, drives it to the end,
// prints the run ID and exits.
import { createLocalWorld } from "../local-world.js";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: append-child.ts <dataDir>");
const world = createLocalWorld({ dataDir, watch: false });
const { run } = await world.createRun({ workflowName: "wf-child", input: "[]" });
const lease = await world.acquireLease(run.runId, "child", 10_000);
if (!lease) throw new Error("child could not take the lease of its own run");
await world.append(run.runId, 1, [{ type: "run_started" }], { lease });
await world.append(
  run.runId,
  2,
  [{ type: "step_created", correlationId: "s", data: { stepName: "x", input: "[]" } }],
  {
    lease,
  },
);
await world.append(run.runId, 3, [{ type: "run_completed", data: { output: "done" } }], { lease });
await world.releaseLease(lease);
await world.close();
process.stdout.write(JSON.stringify({ runId: run.runId }));
