// Child process of the SQLite world's multi-process tests (bundled by child-bundle.ts). Modes:
//   churn <db> <name> <leaseTtlMs>  creates and drives runs forever (appends under a lease, hooks, deliveries,
//                                   stream writes, step tasks), printing one JSON line per acknowledged write,
//                                   until the parent kills it with SIGKILL
//   notify <db> <runId>             makes one change of each kind to a run the parent watches, printing when each
//                                   write returned (epoch ms with fractions) and waiting for the parent's "next"
//   open <db>                       opens the world (running migrations) and exits
import { createInterface } from "node:readline";
import type { NewEvent } from "@wfkit/world";
import { createSqliteWorld } from "../sqlite-world.js";

const [mode, path, ...args] = process.argv.slice(2);
if (!mode || !path) throw new Error("usage: child.mjs <churn|notify|open> <db> ...");
const now = () => performance.timeOrigin + performance.now();
const say = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

if (mode === "open") {
  const world = await createSqliteWorld({ path, watch: false });
  await world.close();
  say({ opened: true });
} else if (mode === "notify") {
  const runId = args[0]!;
  const world = await createSqliteWorld({ path });
  const rl = createInterface({ input: process.stdin });
  const lines = rl[Symbol.asyncIterator]();
  const next = async () => {
    await lines.next();
  };
  const head = async () => (await world.getRun(runId))!.lastSeq;
  const steps: Array<[string, () => Promise<unknown>]> = [
    ["appended", async () => world.append(runId, await head(), [{ type: "run_started" }])],
    [
      "delivered",
      () =>
        world.deliver(runId, {
          deliveryId: "d1",
          event: { type: "hook_received", correlationId: "h1", data: { payload: "1" } },
        }),
    ],
    ["stream", () => world.writeStream(runId, "s", ["chunk"])],
    [
      "offered",
      () =>
        world.offerStepTasks([
          { runId, correlationId: "step_0001", attempt: 1, stepName: "s", input: "[]", runStartedAt: 1 },
        ]),
    ],
    [
      "completed",
      async () => {
        const [task] = await world.claimStepTasks("child", 60_000, 1);
        await world.completeStepTask(task!, { type: "step_completed", data: { output: "1" } });
      },
    ],
    [
      "finished",
      async () => world.append(runId, await head(), [{ type: "run_completed", data: { output: "1" } }]),
    ],
  ];
  for (const [kind, write] of steps) {
    await next();
    const start = now();
    await write();
    say({ kind, start, end: now() });
  }
  rl.close();
  process.stdin.destroy();
  await world.close();
} else if (mode === "churn") {
  const name = args[0]!;
  const ttlMs = Number(args[1] ?? 60_000);
  const world = await createSqliteWorld({ path, watch: false });
  for (let r = 0; ; r++) {
    const { run, lease } = await world.createRun({
      workflowName: "wf-churn",
      input: JSON.stringify([name, r]),
      lease: { owner: name, ttlMs },
    });
    const runId = run.runId;
    say({ runId, seq: 1 });
    let seq = 1;
    const push = async (...events: NewEvent[]) => {
      seq = (await world.append(runId, seq, events, { lease: lease! })).run.lastSeq;
      say({ runId, seq });
    };
    await push(
      { type: "run_started" },
      { type: "hook_created", correlationId: "hook_0001", data: { token: `${name}-${r}` } },
    );
    for (let s = 1; s <= 3; s++) {
      const cid = `step_000${s + 1}`;
      await push(
        { type: "step_created", correlationId: cid, data: { stepName: "step//x", input: `[${s}]` } },
        { type: "step_started", correlationId: cid, data: { attempt: 1 } },
      );
      const { nextIndex } = await world.writeStream(runId, "out", [`${r}:${s}`]);
      say({ runId, stream: nextIndex });
      await world.offerStepTasks([
        { runId, correlationId: cid, attempt: 1, stepName: "step//x", input: "[]", runStartedAt: 1 },
      ]);
      const deliveryId = `d${s}`;
      await world.deliver(runId, {
        deliveryId,
        event: { type: "hook_received", correlationId: "hook_0001", data: { payload: `"${deliveryId}"` } },
      });
      say({ runId, delivered: deliveryId });
      await push(
        { type: "step_completed", correlationId: cid, data: { output: String(s) } },
        {
          type: "hook_received",
          correlationId: "hook_0001",
          data: { payload: `"${deliveryId}"`, deliveryId },
        },
      );
      await world.removeStepTasks(runId, [cid]);
    }
    await push({ type: "run_completed", data: { output: "done" } });
  }
}
