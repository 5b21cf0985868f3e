/**
 * The operator commands against the local and Postgres worlds: the app (another world instance with an executing,
 * listening engine) runs workflows with parallel steps, a hook and a sleep; `wf` opens its own world per command,
 * as a second process would, and inspects, retries, forks, rewinds, cancels, starts, resumes hooks and reads
 * streams.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type OperatorApp, registerStep, startApp } from "./__tests__/operator-app.js";
import { runWf } from "./__tests__/run-wf.js";

const calls: string[] = [];
let broken = true;
registerStep("step//./ops//ok", async (v: string) => {
  calls.push(`ok:${v}`);
  return `ok(${v})`;
});
registerStep(
  "step//./ops//flaky",
  async (v: string) => {
    calls.push(`flaky:${v}`);
    if (broken) throw Object.assign(new Error("service down"), { code: "DOWN" });
    return `flaky(${v})`;
  },
  { maxRetries: 0 },
);
registerStep("step//./ops//emit", async (n: number) => {
  const { hostRuntime } = await import("@wfkit/core");
  const writer = hostRuntime.getWritable({ namespace: "log" }).getWriter();
  for (let i = 0; i < n; i++) await writer.write(`line ${i}\n`);
  await writer.close();
  return n;
});

// hook_0001, step_0002 + step_0003 (parallel), wait_0004, step_0005.
const WORKFLOWS = {
  "workflow//./ops//mixed": `async function mixed(token) {
    const hook = rt().createHook({ token });
    const [a, b] = await Promise.all([step("step//./ops//ok")("a"), step("step//./ops//ok")("b")]);
    await rt().sleep(20);
    const payload = await hook;
    return step("step//./ops//flaky")(a + b + payload);
  }`,
  "workflow//./ops//emitter": `async function emitter(n) {
    return step("step//./ops//emit")(n);
  }`,
  "workflow//./ops//parent": `async function parent(n) {
    const child = await rt().startChild("workflow//./ops//emitter", [n], {});
    return { child: child.runId, lines: await child.returnValue };
  }`,
};

const worlds: ("local" | "postgres")[] = ["local", "postgres"];

describe.each(worlds)("operator commands on the %s world", (kind) => {
  let app: OperatorApp;
  const wf = (...args: string[]) => runWf([...args, ...app.flags]);
  const status = async (runId: string) => (await app.world.getRun(runId))?.status;
  const ended = (runId: string) =>
    eventually(
      () => status(runId),
      (s) => s === "completed" || s === "failed" || s === "cancelled",
    );
  const jsonOf = async (...args: string[]) => {
    const result = await wf(...args, "--json");
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    return JSON.parse(result.stdout);
  };
  /** Starts `mixed` through the CLI, delivers its hook payload through the CLI, and waits for its end. */
  const failedMixedRun = async (token: string) => {
    broken = true;
    const started = await jsonOf("start", "workflow//./ops//mixed", JSON.stringify([token]));
    await eventually(
      () => app.world.getHookByToken(token),
      (h) => h !== undefined,
    );
    const resumed = await wf("resume-hook", token, '"p"');
    expect(resumed.stdout).toContain(`of run ${started.runId}`);
    await ended(started.runId);
    expect(await status(started.runId)).toBe("failed");
    return started.runId as string;
  };

  beforeAll(async () => {
    app = await startApp(kind, WORKFLOWS);
  });
  afterAll(async () => {
    await app?.close();
  });

  it("wf inspect run shows the run tree: a parent's child runs, and a child's parent", async () => {
    const started = await jsonOf("start", "workflow//./ops//parent", "[2]");
    await ended(started.runId);
    expect(await status(started.runId)).toBe("completed");
    const childRunId = `${started.runId}_c1`;
    const parentView = await wf("inspect", "run", started.runId);
    expect(parentView.stdout).toMatch(
      new RegExp(`Child runs \\(1\\)\\n\\s+${childRunId}\\s+completed\\s+emitter`),
    );
    const parentJson = await jsonOf("inspect", "run", started.runId);
    expect(parentJson.children).toEqual([
      { runId: childRunId, workflowName: "workflow//./ops//emitter", status: "completed" },
    ]);
    const childView = await wf("inspect", "run", childRunId);
    expect(childView.stdout).toMatch(new RegExp(`Parent\\s+${started.runId}`));
    expect((await jsonOf("inspect", "run", childRunId)).parentRunId).toBe(started.runId);
  });

  it("wf start records a run by workflow ID that the app executes; inspect shows it decoded, as table and JSON", async () => {
    calls.length = 0;
    const runId = await failedMixedRun(`start-${kind}`);
    expect(calls).toEqual(["ok:a", "ok:b", "flaky:ok(a)ok(b)p"]);

    const list = await wf("inspect", "runs");
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toMatch(/RUN ID\s+WORKFLOW\s+STATUS\s+CREATED/);
    expect(list.stdout).toMatch(new RegExp(`${runId}\\s+mixed\\s+failed\\s+(just now|\\S+ ago)\\s+\\d`));
    expect(list.stdout).toContain("Error: service down");

    const runs = await jsonOf(
      "inspect",
      "runs",
      "--status",
      "failed",
      "--workflow",
      "workflow//./ops//mixed",
      "--withData",
    );
    const row = runs.data.find((r: { runId: string }) => r.runId === runId);
    expect(row).toMatchObject({
      status: "failed",
      input: [`start-${kind}`],
      error: { $type: "Error", message: "service down", code: "DOWN" },
    });
    expect(row.error.stack).toContain("service down");
    expect(typeof row.createdAt).toBe("string");
    const noData = await jsonOf("inspect", "runs", "--status", "failed");
    expect(noData.data[0].input).toBeUndefined();

    const detail = await wf("inspect", "run", runId);
    expect(detail.stdout).toContain(`Workflow   mixed (workflow//./ops//mixed)`);
    expect(detail.stdout).toMatch(/time to first step\s+\d/);
    expect(detail.stdout).toMatch(/step-to-step overhead\s+mean/);
    expect(detail.stdout).toMatch(/outside steps\s+\d/);
    expect(detail.stdout).toMatch(/step_0005\s+flaky\s+failed\s+1/);
    expect(detail.stdout).toMatch(/hook_0001\s+start-/);
    expect(detail.stdout).toMatch(/wait_0004\s+completed/);
    const detailJson = await jsonOf("inspect", "run", "--runId", runId);
    expect(detailJson.overhead.stepAttempts).toBe(3);
    expect(detailJson.overhead.timeToFirstStepMs).toBeGreaterThanOrEqual(0);
    expect(detailJson.steps.map((s: { stepId: string }) => s.stepId)).toEqual([
      "step_0002",
      "step_0003",
      "step_0005",
    ]);

    const steps = await jsonOf("inspect", "steps", runId, "--withData");
    expect(steps.data[0]).toMatchObject({ stepId: "step_0002", output: "ok(a)", input: { args: ["a"] } });
    const events = await jsonOf("inspect", "events", runId, "--limit", "3");
    expect(events.data.map((e: { type: string }) => e.type)).toEqual([
      "run_created",
      "run_started",
      "hook_created",
    ]);
    expect(events.hasMore).toBe(true);
    const rest = await jsonOf("inspect", "events", runId, "--cursor", events.cursor, "--withData");
    expect(rest.data[0].seq).toBe(4);
    expect(rest.data.at(-1)).toMatchObject({
      type: "run_failed",
      data: { error: { message: "service down" } },
    });
    const hooks = await jsonOf("inspect", "hooks", runId);
    expect(hooks.data).toEqual([expect.objectContaining({ hookId: "hook_0001", status: "disposed" })]);
    const sleeps = await jsonOf("inspect", "sleeps", runId);
    expect(sleeps.data).toEqual([expect.objectContaining({ waitId: "wait_0004", status: "completed" })]);
    expect(Number.isNaN(Date.parse(sleeps.data[0].resumeAt))).toBe(false);
  });

  it("wf retry re-drives a failed run with parallel steps, a hook and a sleep from its failed step; nothing completed runs again", async () => {
    const runId = await failedMixedRun(`retry-${kind}`);
    broken = false;
    calls.length = 0;
    const retried = await wf("retry", runId);
    expect(retried.exitCode).toBe(0);
    expect(retried.stdout).toContain("re-drives step_0005");
    await ended(runId);
    expect(await status(runId)).toBe("completed");
    expect(calls).toEqual(["flaky:ok(a)ok(b)p"]);
    const run = await jsonOf("inspect", "run", runId, "--withData");
    expect(run.run.output).toBe("flaky(ok(a)ok(b)p)");
    // Retrying a completed run is refused with a clear message.
    const again = await wf("retry", runId);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/wf retry: Run .* is completed; only a failed run can be retried/);
  });

  it("wf fork --from-step starts a new run that reuses the results before that step", async () => {
    const runId = await failedMixedRun(`fork-${kind}`);
    broken = false;
    calls.length = 0;
    const fork = await jsonOf("fork", runId, "--from-step", "step_0005");
    expect(fork.forkedFrom).toBe(runId);
    await ended(fork.runId);
    expect(await status(fork.runId)).toBe("completed");
    // The parallel steps, the sleep and the hook payload were reused; only the flaky step ran.
    expect(calls).toEqual(["flaky:ok(a)ok(b)p"]);
    expect(await status(runId)).toBe("failed");
    const detail = await wf("inspect", "run", fork.runId);
    expect(detail.stdout).toContain(`Forked from  ${runId} at step_0005`);
  });

  it("wf rewind --to-step cancels a waiting run with the new run's ID as reason; the new run re-runs from the parallel step", async () => {
    broken = false;
    const token = `rewind-${kind}`;
    const started = await jsonOf("start", "workflow//./ops//mixed", JSON.stringify([token]));
    await eventually(
      () => app.world.listWaits(started.runId),
      (w) => w.some((x) => x.status === "completed"),
    );
    calls.length = 0;
    const rewound = await jsonOf("rewind", started.runId, "--to-step", "step_0002");
    expect(await status(started.runId)).toBe("cancelled");
    expect((await app.world.getRun(started.runId))?.cancelReason).toBe(`rewound to ${rewound.runId}`);
    // The new run holds the token again once it reaches the hook.
    await eventually(
      () => app.world.getHookByToken(token),
      (h) => h?.runId === rewound.runId,
    );
    expect((await wf("resume-hook", token, '"q"')).exitCode).toBe(0);
    await ended(rewound.runId);
    expect(await status(rewound.runId)).toBe("completed");
    expect(calls).toEqual(["ok:a", "ok:b", "flaky:ok(a)ok(b)q"]);
  });

  it("wf pause holds a run at its hook's payload; wf resume continues it where it stopped", async () => {
    broken = false;
    const token = `pause-${kind}`;
    const started = await jsonOf("start", "workflow//./ops//mixed", JSON.stringify([token]));
    await eventually(
      () => app.world.getHookByToken(token),
      (h) => h?.runId === started.runId,
    );
    const paused = await jsonOf("pause", started.runId, "--reason", "maintenance");
    expect(paused).toEqual({ runId: started.runId, status: "paused" });
    calls.length = 0;
    // The payload is recorded, but the step it leads to does not start while the run is paused.
    expect((await wf("resume-hook", token, '"z"')).exitCode).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toEqual([]);
    expect(await status(started.runId)).toBe("paused");
    expect(await jsonOf("resume", started.runId)).toMatchObject({ runId: started.runId });
    await ended(started.runId);
    expect(await status(started.runId)).toBe("completed");
    expect(calls).toEqual(["flaky:ok(a)ok(b)z"]);
  });

  it("wf cancel cancels one run, and in bulk only with --yes", async () => {
    const a = await jsonOf("start", "workflow//./ops//mixed", JSON.stringify([`cancel-a-${kind}`]));
    const b = await jsonOf("start", "workflow//./ops//mixed", JSON.stringify([`cancel-b-${kind}`]));
    await eventually(
      () => Promise.all([status(a.runId), status(b.runId)]),
      (s) => s.every((x) => x === "running"),
    );
    const one = await wf("cancel", a.runId, "--reason", "not needed");
    expect(one.stdout).toContain(`Cancelled run ${a.runId}.`);
    expect((await app.world.getRun(a.runId))?.cancelReason).toBe("not needed");
    const dry = await wf("cancel", "--status", "running", "--workflow", "workflow//./ops//mixed");
    expect(dry.exitCode).toBe(1);
    expect(dry.stdout).toContain(b.runId);
    expect(dry.stdout).toContain("Add --yes");
    expect(await status(b.runId)).toBe("running");
    const bulk = await jsonOf(
      "cancel",
      "--status",
      "running",
      "--workflow",
      "workflow//./ops//mixed",
      "--yes",
    );
    expect(bulk.cancelled).toContain(b.runId);
    expect(await status(b.runId)).toBe("cancelled");
    const refused = await wf("cancel", "--status", "completed");
    expect(refused.stderr).toMatch(/a completed run has ended and cannot be cancelled/);
  });

  it("wf streams read prints a run's stream (from an index, following it); inspect streams lists it; export holds it", async () => {
    const started = await jsonOf("start", "workflow//./ops//emitter", "[3]");
    const followed = await wf("streams", "read", started.runId, "--namespace", "log", "--follow");
    expect(followed.stdout).toBe("line 0\nline 1\nline 2\n");
    const from = await wf("streams", "read", started.runId, "--namespace", "log", "--from", "2", "--json");
    expect(JSON.parse(from.stdout)).toEqual({ index: 2, data: "line 2\n" });
    await ended(started.runId);
    const streams = await jsonOf("inspect", "streams", started.runId);
    expect(streams.data).toEqual([{ name: "log", chunks: 3, closed: true }]);
    const exported = await wf("export", started.runId);
    const log = JSON.parse(exported.stdout);
    expect(log).toMatchObject({
      format: "wfkit.run-log",
      version: 1,
      run: { runId: started.runId, status: "completed" },
    });
    expect(log.events.map((e: { type: string }) => e.type)).toContain("step_completed");
    expect(log.streams.log.chunks).toHaveLength(3);
  });

  it("answers bad input with what was wrong and how to fix it", async () => {
    const missing = await wf("inspect", "run", "wrun_nope");
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/no run wrun_nope in the \w+ world\. List runs with: wf inspect runs/);
    expect((await wf("inspect", "runs", "--status", "done")).stderr).toMatch(/"done" is not a run status/);
    expect((await wf("inspect", "steps")).stderr).toMatch(/which run\? Pass it: wf inspect steps <runId>/);
    expect((await wf("start", "workflow//./ops//mixed", "not json")).stderr).toMatch(/argsJson must be JSON/);
    expect((await wf("resume-hook", "no-such-token", "1")).stderr).toMatch(/HookNotFound|no-such-token/);
  });

  it("wf inspect runs pages with --limit and --cursor", async () => {
    const first = await jsonOf("inspect", "runs", "--limit", "1");
    expect(first.data).toHaveLength(1);
    expect(first.hasMore).toBe(true);
    const second = await jsonOf("inspect", "runs", "--limit", "1", "--cursor", first.cursor);
    expect(second.data[0].runId).not.toBe(first.data[0].runId);
    const table = await wf("inspect", "runs", "--limit", "1");
    expect(table.stdout).toContain("More: wf inspect runs --cursor ");
  });

  it("wf health reports the world and exits 2 when work waits for an executor", async () => {
    const healthy = await jsonOf("health");
    expect(healthy).toMatchObject({ ok: true, world: kind });
    // A run whose sleep is due but whose code no executor has: its wake-up stays overdue.
    const { run } = await app.world.createRun({ workflowName: "workflow//./ops//gone", input: "[]" });
    await app.world.append(run.runId, 1, [
      { type: "run_started" },
      { type: "wait_created", correlationId: "wait_0001", data: { resumeAt: Date.now() - 1_000 } },
    ]);
    const late = await wf("health", "--grace", "0");
    expect(late.exitCode).toBe(2);
    expect(late.stdout).toMatch(/Overdue\s+1 wake-up\(s\)/);
    expect(late.stdout).toContain(run.runId);
    expect((await wf("cancel", run.runId)).exitCode).toBe(0);
  });
});
