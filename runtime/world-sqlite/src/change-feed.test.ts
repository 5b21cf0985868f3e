import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Change } from "./change-feed.js";
import { Connection, type ConnectionOptions } from "./connection.js";
import { createSqliteWorld } from "./sqlite-world.js";

const cleanups: Array<() => unknown> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function dbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "wfkit-sqlite-feed-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "workflow.db");
}

async function connect(path: string, opts: Partial<ConnectionOptions> = {}) {
  const heard: Change[] = [];
  let gaps = 0;
  const c = await Connection.open(
    {
      path,
      synchronous: "normal",
      busyTimeoutMs: 0,
      busyWaitMs: 5_000,
      // The tests call check() themselves.
      pollIntervalMs: 60_000,
      changeRetentionMs: 60_000,
      watch: false,
      ...opts,
    },
    { onChanges: (changes) => heard.push(...changes), onGap: () => gaps++ },
  );
  cleanups.push(() => c.close());
  return { c, heard, gaps: () => gaps };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("change feed", () => {
  it("delivers other connections' committed changes in order, not its own and not rolled-back ones", async () => {
    const path = dbPath();
    const reader = await connect(path);
    const writer = await connect(path);
    reader.c.feed.start();
    await writer.c.write("one", () => writer.c.feed.record("t", "1", Date.now()));
    await reader.c.write("own", () => reader.c.feed.record("t", "own", Date.now()));
    await expect(
      writer.c.write("refused", () => {
        writer.c.feed.record("t", "rolled back", Date.now());
        throw new Error("refused");
      }),
    ).rejects.toThrow("refused");
    await writer.c.write("two", () => {
      writer.c.feed.record("t", "2", Date.now());
      writer.c.feed.record("t", "3", Date.now());
    });
    reader.c.feed.check();
    expect(reader.heard.map((h) => h.payload)).toEqual(["1", "2", "3"]);
    expect(reader.gaps()).toBe(0);
    reader.c.feed.check();
    expect(reader.heard).toHaveLength(3);
  });

  it("a reader that fell behind the retention notices the pruned rows and resyncs", async () => {
    const path = dbPath();
    const reader = await connect(path);
    const writer = await connect(path, { changeRetentionMs: 4 });
    reader.c.feed.start();
    await writer.c.write("old", () => writer.c.feed.record("t", "old", Date.now()));
    await sleep(20);
    // This write prunes "old", which the reader never read.
    await writer.c.write("new", () => writer.c.feed.record("t", "new", Date.now()));
    reader.c.feed.check();
    expect(reader.gaps()).toBe(1);
    expect(reader.heard.map((h) => h.payload)).toEqual(["new"]);
  });

  it("a reader whose own rows were pruned sees no gap", async () => {
    const path = dbPath();
    const reader = await connect(path, { changeRetentionMs: 4 });
    const writer = await connect(path);
    reader.c.feed.start();
    await reader.c.write("mine", () => reader.c.feed.record("t", "mine", Date.now()));
    await sleep(20);
    await reader.c.write("mine again", () => reader.c.feed.record("t", "mine again", Date.now()));
    await writer.c.write("theirs", () => writer.c.feed.record("t", "theirs", Date.now()));
    reader.c.feed.check();
    expect(reader.gaps()).toBe(0);
    expect(reader.heard.map((h) => h.payload)).toEqual(["theirs"]);
  });

  it("the bell wakes a watching reader without a poll", async () => {
    const path = dbPath();
    const reader = await connect(path, { watch: true });
    const writer = await connect(path);
    reader.c.feed.start();
    await writer.c.write("rung", () => writer.c.feed.record("t", "rung", Date.now()));
    const deadline = Date.now() + 5_000;
    while (reader.heard.length === 0 && Date.now() < deadline) await sleep(2);
    expect(reader.heard.map((h) => h.payload)).toEqual(["rung"]);
    await writer.c.write("again", () => writer.c.feed.record("t", "again", Date.now()));
    // The bell is rewritten in place, not appended to.
    expect(statSync(`${path}-notify`).size).toBe(1);
  });
});

describe("a world whose change feed lost rows it had not read", () => {
  it("tells per-run subscribers where their run is now, calls stream subscribers and wakes claimers", async () => {
    const path = dbPath();
    const reader = await createSqliteWorld({ path, watch: false, pollIntervalMs: 60_000 });
    const writer = await createSqliteWorld({ path, changeRetentionMs: 4 });
    cleanups.push(
      () => void reader.close(),
      () => void writer.close(),
    );
    const { run } = await writer.createRun({ workflowName: "wf", input: "[]" });
    const runKinds: string[] = [];
    let streamCalls = 0;
    const taskKinds: string[] = [];
    reader.subscribe((n) => runKinds.push(`${n.kind}:${n.status}`), run.runId);
    reader.subscribeStream(run.runId, "s", () => streamCalls++);
    reader.subscribeStepTasks((n) => taskKinds.push(n.kind));

    await writer.append(run.runId, 1, [{ type: "run_completed", data: { output: "1" } }]);
    await sleep(20);
    await writer.writeStream(run.runId, "other", ["x"]); // prunes the append's change row
    // What the reader's poll would do, now: it finds the hole.
    (reader as unknown as { c: Connection }).c.feed.check();
    expect(runKinds).toEqual(["finished:completed"]);
    expect(streamCalls).toBe(1);
    expect(taskKinds).toEqual(["offered"]);
  });
});
