/**
 * The SQLite world across processes: writers killed with SIGKILL mid-transaction lose nothing they were told was
 * committed and never leave a torn run; other processes' changes are heard (through the bell file, and through
 * the poll when no file event comes); processes opening a new file at once apply each migration once.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  isTerminalStatus,
  materialize,
  type RunNotification,
  type StepTaskNotification,
  type World,
} from "@wfkit/world";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { childScript } from "./__tests__/child-bundle.js";
import { MIGRATIONS } from "./migrations.js";
import { createSqliteWorld, type SqliteWorld } from "./sqlite-world.js";

const dirs: string[] = [];
const worlds: World[] = [];
const children: ChildProcess[] = [];

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), "wfkit-sqlite-proc-"));
  dirs.push(dir);
  return join(dir, "workflow.db");
}

async function open(path: string, opts: Parameters<typeof createSqliteWorld>[0] = {}): Promise<SqliteWorld> {
  const world = await createSqliteWorld({ path, ...opts });
  worlds.push(world);
  return world;
}

afterEach(async () => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
  for (const w of worlds.splice(0)) await w.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  lines: Array<Record<string, unknown>>;
  /** Resolves with the next line for which `match` holds (lines already seen included). */
  waitFor(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

async function startChild(args: string[]): Promise<Child> {
  const proc = spawn(process.execPath, [await childScript(), ...args], { stdio: ["pipe", "pipe", "pipe"] });
  children.push(proc);
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  let partial = "";
  let stderr = "";
  proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    for (const text of parts) {
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => proc.on("close", (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    proc,
    lines,
    exited,
    waitFor(match, timeoutMs = 20_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`no matching line from the child within ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe("SQLite world, several processes", () => {
  it("writers killed with SIGKILL mid-write lose nothing acknowledged and leave every run whole", async () => {
    const path = tempDb();
    await (await open(path)).close(); // the schema exists before the writers race
    const LEASE_TTL_MS = 1_000;
    const acked: Array<Record<string, unknown>> = [];
    let kills = 0;
    for (let round = 0; round < 2; round++) {
      const writers = await Promise.all(
        ["a", "b", "c"].map((n) => startChild(["churn", path, `${n}${round}`, String(LEASE_TTL_MS)])),
      );
      await Promise.all(writers.map((w) => w.waitFor(() => w.lines.length > 50)));
      // Killed at different moments, while the others keep writing: each dies inside or between transactions.
      for (const w of writers) {
        await sleep(50 + Math.random() * 150);
        w.proc.kill("SIGKILL");
        const { signal } = await w.exited;
        expect(signal).toBe("SIGKILL");
        kills++;
        acked.push(...w.lines);
      }
    }
    expect(kills).toBe(6);

    const raw = new Database(path, { readonly: true });
    expect(raw.pragma("integrity_check", { simple: true })).toBe("ok");
    raw.close();

    const world = await open(path);
    const runs = new Map<string, { seq: number; stream: number; delivered: string[] }>();
    for (const line of acked) {
      const runId = line.runId as string;
      const r = runs.get(runId) ?? { seq: 0, stream: 0, delivered: [] };
      runs.set(runId, r);
      if (typeof line.seq === "number") r.seq = Math.max(r.seq, line.seq);
      if (typeof line.stream === "number") r.stream = Math.max(r.stream, line.stream);
      if (typeof line.delivered === "string") r.delivered.push(line.delivered);
    }
    expect(runs.size).toBeGreaterThan(6);
    const unfinished: string[] = [];
    for (const [runId, want] of runs) {
      const events = await world.readEvents(runId);
      // Dense, and nothing acknowledged is missing.
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.length).toBeGreaterThanOrEqual(want.seq);
      // The rows are exactly what the shared materialiser makes of the log: no append was half written.
      const state = materialize(events);
      expect(await world.getRun(runId)).toEqual(state.run);
      expect(sortBy(await world.listSteps(runId), "stepId")).toEqual(
        sortBy([...state.steps.values()], "stepId"),
      );
      expect(await world.listHooks(runId)).toEqual([...state.hooks.values()]);
      expect((await world.readStream(runId, "out")).chunks.length).toBeGreaterThanOrEqual(want.stream);
      const pending = (await world.listDeliveries(runId)).map((d) => d.deliveryId);
      const consumed = events.flatMap((e) =>
        e.type === "hook_received" && e.data?.deliveryId ? [e.data.deliveryId] : [],
      );
      for (const id of want.delivered) expect([...pending, ...consumed]).toContain(id);
      if (!isTerminalStatus(state.run.status)) unfinished.push(runId);
    }
    // Each killed writer left a run it held: once its lease expires it is listed as abandoned and can be taken
    // over with a larger fencing token, and the new holder appends at the head.
    expect(unfinished.length).toBeGreaterThan(0);
    await sleep(LEASE_TTL_MS + 100);
    const abandoned = (await world.listAbandoned(Date.now(), 1000)).map((r) => r.runId);
    for (const runId of unfinished) {
      expect(abandoned).toContain(runId);
      const lease = (await world.acquireLease(runId, "rescuer", 60_000))!;
      expect(lease.token).toBeGreaterThan(1);
      const head = (await world.getRun(runId))!.lastSeq;
      await world.append(runId, head, [{ type: "run_cancelled", data: { reason: "test" } }], { lease });
    }
  }, 60_000);

  it("another process's appends, deliveries, stream writes and step task changes are heard within milliseconds", async () => {
    const path = tempDb();
    const world = await open(path);
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    const heard = new Map<string, number>();
    const at = () => performance.timeOrigin + performance.now();
    world.subscribe((n: RunNotification) => heard.set(n.kind, heard.get(n.kind) ?? at()), run.runId);
    world.subscribeStream(run.runId, "s", () => heard.set("stream", heard.get("stream") ?? at()));
    world.subscribeStepTasks((n: StepTaskNotification) => heard.set(n.kind, heard.get(n.kind) ?? at()));

    const child = await startChild(["notify", path, run.runId]);
    const latencies: Record<string, number> = {};
    for (const kind of ["appended", "delivered", "stream", "offered", "completed", "finished"]) {
      child.proc.stdin!.write("next\n");
      const done = await child.waitFor((l) => l.kind === kind);
      await until(() => heard.has(kind), `the "${kind}" notification from the other process`);
      latencies[kind] = +(heard.get(kind)! - (done.end as number)).toFixed(2);
    }
    child.proc.stdin!.end();
    expect((await child.exited).code).toBe(0);
    // Not asserted (no timed tests): the README quotes these figures.
    console.log(
      `[sqlite] heard from another process, ms after its write returned: ${JSON.stringify(latencies)}`,
    );
  });

  it("without file events the poll still carries other processes' changes", async () => {
    const path = tempDb();
    const world = await open(path, { watch: false, pollIntervalMs: 50 });
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    const kinds: string[] = [];
    world.subscribe((n) => kinds.push(n.kind), run.runId);
    const child = await startChild(["notify", path, run.runId]);
    child.proc.stdin!.write("next\n");
    await child.waitFor((l) => l.kind === "appended");
    await until(() => kinds.includes("appended"), "the append to be heard by polling");
    child.proc.stdin!.end();
  });

  it("processes opening a new file at the same moment apply each migration once", async () => {
    const path = tempDb();
    const openers = await Promise.all(Array.from({ length: 4 }, () => startChild(["open", path])));
    const results = await Promise.all(openers.map((c) => c.exited));
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare("SELECT version FROM schema_migrations").pluck().all()).toEqual(
      MIGRATIONS.map((m) => m.version),
    );
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    raw.close();
  });
});

function sortBy<T, K extends keyof T>(items: T[], key: K): T[] {
  return [...items].sort((a, b) => (String(a[key]) < String(b[key]) ? -1 : 1));
}
