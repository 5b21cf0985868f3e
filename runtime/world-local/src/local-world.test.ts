import { type ChildProcess, spawn } from "node:child_process";
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunNotification, World } from "@wfkit/world";
import { runWorldConformance } from "@wfkit/world/conformance";
import { afterEach, describe, expect, it } from "vitest";
import { childScript } from "./__tests__/child-bundle.js";
import { createLocalWorld } from "./local-world.js";

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "wfkit-local-"));
  tempDirs.push(dir);
  return dir;
}

runWorldConformance("local", async () => {
  const dataDir = tempDir();
  return {
    world: createLocalWorld({ dataDir }),
    reopen: async () => createLocalWorld({ dataDir }),
    concurrent: async () => createLocalWorld({ dataDir }),
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
});

describe("local world", () => {
  const worlds: World[] = [];
  const open = (dataDir: string, opts: { watch?: boolean } = {}) => {
    const w = createLocalWorld({ dataDir, ...opts });
    worlds.push(w);
    return w;
  };
  afterEach(async () => {
    for (const w of worlds.splice(0)) await w.close();
    for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("keeps one append-only log file per run", async () => {
    const dataDir = tempDir();
    const world = open(dataDir);
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    await world.append(run.runId, 1, [{ type: "run_started" }]);
    await world.append(run.runId, 2, [{ type: "run_completed", data: { output: "1" } }]);
    expect(readdirSync(join(dataDir, "runs"))).toEqual([`${run.runId}.log`]);
    const lines = readFileSync(join(dataDir, "runs", `${run.runId}.log`), "utf8")
      .split("\n")
      .filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[2]!.slice(9))).toMatchObject({ s: 3, e: [{ type: "run_completed" }] });
  });

  it("ignores a torn final record and continues the numbering after it", async () => {
    const dataDir = tempDir();
    const first = open(dataDir);
    const { run } = await first.createRun({ workflowName: "wf", input: "[]" });
    await first.append(run.runId, 1, [{ type: "run_started" }]);
    await first.append(run.runId, 2, [
      { type: "step_created", correlationId: "s1", data: { stepName: "x", input: "[]" } },
    ]);
    await first.close();
    const file = join(dataDir, "runs", `${run.runId}.log`);
    // Cut the last record in half, as a crash during its write would.
    truncateSync(file, statSync(file).size - 20);

    const second = open(dataDir);
    expect((await second.readEvents(run.runId)).map((e) => e.type)).toEqual(["run_created", "run_started"]);
    expect((await second.getRun(run.runId))!.lastSeq).toBe(2);
    expect(await second.listSteps(run.runId)).toEqual([]);
    const res = await second.append(run.runId, 2, [
      { type: "step_created", correlationId: "s2", data: { stepName: "y", input: "[]" } },
    ]);
    expect(res.events[0]!.seq).toBe(3);
    await second.close();

    const third = open(dataDir);
    const events = await third.readEvents(run.runId);
    expect(events.map((e) => [e.seq, e.correlationId])).toEqual([
      [1, undefined],
      [2, undefined],
      [3, "s2"],
    ]);
  });

  it("skips garbage appended after valid records", async () => {
    const dataDir = tempDir();
    const world = open(dataDir);
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    await world.close();
    appendFileSync(join(dataDir, "runs", `${run.runId}.log`), "\n0000dead {not json}\n\0\0\0");
    const again = open(dataDir);
    await again.append(run.runId, 1, [{ type: "run_started" }]);
    expect((await open(dataDir).readEvents(run.runId)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it("two instances on one directory see each other's appends and never fork a log", async () => {
    const dataDir = tempDir();
    const a = open(dataDir, { watch: false });
    const b = open(dataDir, { watch: false });
    const { run } = await a.createRun({ workflowName: "wf", input: "[]" });
    expect((await b.getRun(run.runId))!.lastSeq).toBe(1);
    await b.append(run.runId, 1, [{ type: "run_started" }]);
    // a has not looked since: its append at the old head loses, and it then knows the new head.
    await expect(a.append(run.runId, 1, [{ type: "run_cancelled", data: {} }])).rejects.toMatchObject({
      code: "APPEND_CONFLICT",
      actualSeq: 2,
    });
    await a.append(run.runId, 2, [{ type: "run_cancelled", data: {} }]);
    await expect(b.append(run.runId, 2, [{ type: "run_started" }])).rejects.toMatchObject({
      code: "RUN_FINISHED",
    });
    expect((await b.readEvents(run.runId)).map((e) => e.type)).toEqual([
      "run_created",
      "run_started",
      "run_cancelled",
    ]);
  });

  it("leases and hook tokens hold across instances", async () => {
    const dataDir = tempDir();
    const a = open(dataDir, { watch: false });
    const b = open(dataDir, { watch: false });
    const { run } = await a.createRun({ workflowName: "wf", input: "[]" });
    const other = (await a.createRun({ workflowName: "wf", input: "[]" })).run;
    const lease = (await a.acquireLease(run.runId, "A", 500))!;
    expect(await b.acquireLease(run.runId, "B", 10_000)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 700));
    const taken = (await b.acquireLease(run.runId, "B", 10_000))!;
    expect(taken.token).toBe(lease.token + 1);
    await expect(a.append(run.runId, 1, [{ type: "run_started" }], { lease })).rejects.toMatchObject({
      code: "LEASE_LOST",
    });

    await a.append(run.runId, 1, [{ type: "hook_created", correlationId: "h", data: { token: "tok" } }]);
    await expect(
      b.append(other.runId, 1, [{ type: "hook_created", correlationId: "h", data: { token: "tok" } }]),
    ).rejects.toMatchObject({ code: "HOOK_TOKEN_CONFLICT", holderRunId: run.runId });
    expect(await b.getHookByToken("tok")).toMatchObject({ runId: run.runId });
    await a.append(run.runId, 2, [{ type: "hook_disposed", correlationId: "h" }]);
    await b.append(other.runId, 1, [{ type: "hook_created", correlationId: "h", data: { token: "tok" } }]);
    expect(await a.getHookByToken("tok")).toMatchObject({ runId: other.runId });
  });

  it("deliveries from another instance never conflict with the executor's appends, and stop at the run's end", async () => {
    const dataDir = tempDir();
    const executor = open(dataDir, { watch: false });
    const other = open(dataDir, { watch: false });
    const { run } = await executor.createRun({ workflowName: "wf", input: "[]" });
    const lease = (await executor.acquireLease(run.runId, "executor", 60_000))!;
    const payload = (id: string) => ({
      deliveryId: id,
      event: { type: "hook_received" as const, correlationId: "h", data: { payload: `"${id}"` } },
    });
    let seq = 1;
    for (let i = 0; i < 3; i++) {
      // The executor appends at the head it knows, without looking at the file the delivery just grew.
      await other.deliver(run.runId, payload(`d${i}`));
      seq = (
        await executor.append(
          run.runId,
          seq,
          [{ type: "hook_received", correlationId: "h", data: { payload: `"d${i}"`, deliveryId: `d${i}` } }],
          { lease },
        )
      ).run.lastSeq;
    }
    expect(seq).toBe(4);
    expect(await other.listDeliveries(run.runId)).toEqual([]);
    await other.deliver(run.runId, payload("late"));
    await executor.append(run.runId, seq, [{ type: "run_completed", data: { output: "1" } }], { lease });
    expect(await other.listDeliveryRuns(Date.now() + 1_000)).toEqual([]);
    // Nothing would consume it any more.
    await expect(other.deliver(run.runId, payload("too-late"))).rejects.toMatchObject({
      code: "RUN_FINISHED",
    });
    expect((await open(dataDir).readEvents(run.runId)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it("a stale hook claim left by a crash does not block the token", async () => {
    const dataDir = tempDir();
    const world = open(dataDir);
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    const { HookClaims } = await import("./hook-claims.js");
    // A claim for a hook that never reached the log, written long ago.
    new HookClaims(join(dataDir, "hooks")).claim(
      "orphan",
      { runId: run.runId, hookId: "ghost" },
      0,
      () => "stale",
    );
    await world.append(run.runId, 1, [
      { type: "hook_created", correlationId: "h", data: { token: "orphan" } },
    ]);
    expect(await world.getHookByToken("orphan")).toMatchObject({ hookId: "h" });
  });

  it("after a restart, unfinished runs and their wake-ups are listed again", async () => {
    const dataDir = tempDir();
    const first = open(dataDir);
    const now = Date.now();
    const { run } = await first.createRun({ workflowName: "wf", input: "[]" });
    await first.append(run.runId, 1, [
      { type: "run_started" },
      { type: "wait_created", correlationId: "w", data: { resumeAt: now + 100 } },
    ]);
    await first.close();
    const second = open(dataDir);
    expect((await second.listUnfinished()).items.map((r) => r.runId)).toEqual([run.runId]);
    expect(await second.nextWakeAt()).toBe(now + 100);
    expect(await second.listDue(now)).toEqual([]);
    expect(await second.listDue(now + 100)).toEqual([{ runId: run.runId, wakeAt: now + 100 }]);
  });

  it("sees runs another process creates and appends to, and notifies subscribers", async () => {
    const dataDir = tempDir();
    const parent = open(dataDir);
    const seen: RunNotification[] = [];
    parent.subscribe((n) => seen.push(n));
    const child = childScript("append-child");
    const out = await runNode(child, [dataDir]);
    const { runId } = JSON.parse(out) as { runId: string };

    const events = await parent.readEvents(runId);
    expect(events.map((e) => e.type)).toEqual([
      "run_created",
      "run_started",
      "step_created",
      "run_completed",
    ]);
    expect((await parent.getRun(runId))!.status).toBe("completed");
    await waitFor(() => seen.some((n) => n.runId === runId && n.kind === "finished"));
    expect((await parent.listRuns()).items.map((r) => r.runId)).toContain(runId);
  });

  it("processes racing to append to one run never fork its log; one of them wins the lease", async () => {
    const dataDir = tempDir();
    const world = open(dataDir);
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    const child = childScript("race-child");
    const go = join(dataDir, "go");
    let ready = 0;
    const outs = Promise.all(
      ["p1", "p2", "p3"].map((who) =>
        runNode(child, [dataDir, run.runId, who, "100", go], (line) => {
          if (line === "ready" && ++ready === 3) writeFileSync(go, "");
        }),
      ),
    );
    const results = (await outs).map((o) => JSON.parse(o.trim().split("\n").pop()!) as { gotLease: boolean });
    expect(results.filter((r) => r.gotLease)).toHaveLength(1);

    const events = await world.readEvents(run.runId);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 301 }, (_, i) => i + 1));
    const ids = events.slice(1).map((e) => e.correlationId);
    expect(new Set(ids).size).toBe(300);
    // A fresh reader of the same bytes decides the same way.
    expect(await open(dataDir).readEvents(run.runId)).toEqual(events);
  }, 60_000);

  it("keeps every acknowledged append of a process killed with SIGKILL", async () => {
    const dataDir = tempDir();
    const child = childScript("crash-child");
    let runId = "";
    let acked = 0;
    await runNode(child, [dataDir], (line, proc) => {
      const [word, value] = line.split(" ");
      if (word === "run") runId = value!;
      if (word === "ack") acked = Number(value);
      if (acked >= 200) proc.kill("SIGKILL");
    }).catch(() => {}); // killed on purpose

    const world = open(dataDir);
    const events = await world.readEvents(runId);
    expect(events.length).toBeGreaterThanOrEqual(acked);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    // The dead process's lease blocks others until it expires, then the run can be taken over.
    expect(await world.acquireLease(runId, "next", 1_000)).toBeUndefined();
    const last = events.length;
    await world.append(runId, last, [{ type: "run_cancelled", data: {} }]);
    expect((await world.getRun(runId))!.status).toBe("cancelled");
  }, 60_000);

  it("lists runs and wake-ups another instance creates, through the directory watch", async () => {
    const dataDir = tempDir();
    const reader = open(dataDir);
    const writer = open(dataDir, { watch: false });
    const seen: RunNotification[] = [];
    reader.subscribe((n) => seen.push(n));
    const { run } = await writer.createRun({ workflowName: "wf-watched", input: "[]" });
    await writer.append(run.runId, 1, [{ type: "wait_created", correlationId: "w", data: { resumeAt: 42 } }]);
    await waitFor(() => seen.some((n) => n.runId === run.runId && n.lastSeq === 2));
    expect((await reader.listRuns({ workflowName: "wf-watched" })).items.map((r) => r.runId)).toEqual([
      run.runId,
    ]);
    expect(await reader.nextWakeAt()).toBe(42);
  });

  it("without a directory watch, listing catches up with another instance within a second", async () => {
    const dataDir = tempDir();
    const reader = open(dataDir, { watch: false });
    const writer = open(dataDir, { watch: false });
    const { run } = await writer.createRun({ workflowName: "wf-polled", input: "[]" });
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await reader.listUnfinished()).items.map((r) => r.runId)).toEqual([run.runId]);
    await writer.append(run.runId, 1, [{ type: "run_completed", data: { output: "" } }]);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await reader.listUnfinished()).items).toEqual([]);
  });

  it('with durability "fsync" writes and reopens the same way', async () => {
    const dataDir = tempDir();
    const world = createLocalWorld({ dataDir, durability: "fsync" });
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    await world.append(run.runId, 1, [{ type: "run_started" }]);
    await world.close();
    expect((await open(dataDir).getRun(run.runId))!.lastSeq).toBe(2);
  });

  it("is fast enough: 100 sequential appends well under the engine's budget", async () => {
    const world = open(tempDir());
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    const t0 = performance.now();
    let seq = 1;
    for (let i = 0; i < 100; i++) {
      const res = await world.append(run.runId, seq, [
        { type: "step_created", correlationId: `s${i}`, data: { stepName: "x", input: "[]" } },
        { type: "step_started", correlationId: `s${i}`, data: { attempt: 1 } },
      ]);
      seq = res.run.lastSeq;
    }
    const ms = performance.now() - t0;
    // Generous bound so a loaded CI machine does not flake; typically a few milliseconds.
    expect(ms).toBeLessThan(500);
  });
});

function runNode(
  script: string,
  args: string[],
  onLine?: (line: string, child: ChildProcess) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let partial = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
      const lines = (partial + d).split("\n");
      partial = lines.pop()!;
      for (const line of lines) onLine?.(line, child);
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`)),
    );
  });
}

async function waitFor(cond: () => boolean, timeoutMs = 3_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
