/**
 * Run output streams across processes on the SQLite world: a worker process executes the run and its step writes
 * to `getWritable()`; another process, which only started the run (WORKFLOW_EXECUTE_RUNS=0), reads
 * `run.getReadable()` live. The step cannot finish before the reader has received its first chunk (it waits for an
 * acknowledgement the test gives only then), so the reader is tailing a stream that is still being written, woken
 * through the SQLite world's change feed (the same project as postgres-streams.test.ts).
 */
import { existsSync, writeFileSync } from "node:fs";
import { expect, it } from "vitest";
import { copyProject, resultOf, type SpawnedNode, spawnNode } from "./support/process.js";

it("run.getReadable() in one process follows a stream a step writes in a worker process (SQLite)", async () => {
  const project = copyProject("pg-streams");
  const env = { WORKFLOW_TARGET_WORLD: "sqlite", WORKFLOW_SQLITE_PATH: project.file("workflow.db") };
  const spawned: SpawnedNode[] = [];
  try {
    const worker = spawnNode(project, ["src/worker.ts"], env);
    spawned.push(worker);
    const workerPid = Number(/WORKER (\d+)/.exec(await worker.waitForLine(/^WORKER \d+ ready/, 30_000))![1]);

    const ack = project.file("ack");
    const watcher = spawnNode(project, ["src/watch.ts", ack], { ...env, WORKFLOW_EXECUTE_RUNS: "0" });
    spawned.push(watcher);
    await watcher.waitForLine(/^CHUNK tick 1$/, 30_000);
    // The step is now blocked until the ack: it has written "tick 1" and nothing else yet.
    expect(existsSync(ack)).toBe(false);
    writeFileSync(ack, "ok");
    const result = await watcher.done;
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split("\n").filter((l) => l.startsWith("CHUNK "));
    expect(lines).toEqual(["CHUNK tick 1", "CHUNK tick 2"]);
    // The step ran in the worker, not in the process that started the run and read the stream.
    expect(resultOf(result)).toEqual({ pid: workerPid, self: watcher.child.pid });
  } finally {
    for (const child of spawned) child.child.kill("SIGKILL");
    await Promise.all(spawned.map((c) => c.done));
    project.cleanup();
  }
}, 90_000);
