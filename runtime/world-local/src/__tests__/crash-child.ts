// Child process for the crash test: appends steps to a new run forever, printing each acknowledged seq,
// until the parent kills it with SIGKILL.
import { createLocalWorld } from "../local-world.js";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: crash-child.ts <dataDir>");
const world = createLocalWorld({ dataDir, watch: false });
const { run } = await world.createRun({ workflowName: "wf-crash", input: "[]" });
process.stdout.write(`run ${run.runId}\n`);
const lease = await world.acquireLease(run.runId, "doomed", 60_000);
let seq = 1;
for (let i = 0; ; i++) {
  const res = await world.append(
    run.runId,
    seq,
    [{ type: "step_created", correlationId: `s${i}`, data: { stepName: "x", input: "[]" } }],
    lease ? { lease } : undefined,
  );
  seq = res.run.lastSeq;
  process.stdout.write(`ack ${seq}\n`);
}
