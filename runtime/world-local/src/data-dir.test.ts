/**
 * What the data directory may do to a running world: hold an entry that is not a log, refuse writes (another
 * user's data, inspected with the CLI), or disappear while runs sleep. None of it may break the other runs or
 * lose a run silently.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { childScript } from "./__tests__/child-bundle.js";
import { captureConsoleError, errorOf, useTempWorlds } from "./__tests__/fixtures.js";

const { tempDir, open } = useTempWorlds("datadir", {}, (dir) => chmodTree(dir, 0o755, 0o644));
const consoleError = captureConsoleError();

function chmodTree(path: string, dirMode: number, fileMode: number): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  if (st.isDirectory()) {
    chmodSync(path, dirMode);
    for (const entry of readdirSync(path)) chmodTree(join(path, entry), dirMode, fileMode);
  } else chmodSync(path, fileMode);
}

const reports = (text: string) => consoleError.spy.mock.calls.filter((c) => String(c[0]).includes(text));

describe("local world: the data directory", () => {
  it("an entry of runs/ that is not a log file is skipped and reported, and every other run works", async () => {
    const dataDir = tempDir();
    const first = open(dataDir);
    const { run } = await first.createRun({ workflowName: "wf", input: "[]" });
    // One appears while a world with a directory watch is open: it must not throw from the watch callback.
    mkdirSync(join(dataDir, "runs", "x.log"));
    await new Promise((r) => setTimeout(r, 50));
    expect((await first.listRuns()).items.map((r) => r.runId)).toEqual([run.runId]);

    const world = open(dataDir, { watch: false });
    expect((await world.listRuns()).items.map((r) => r.runId)).toEqual([run.runId]);
    await world.append(run.runId, 1, [{ type: "run_started" }]);
    expect(await world.getRun("x")).toBeUndefined();
    const refused = await errorOf(world.readEvents("x"));
    expect(refused.code).toBe("RUN_LOG_UNREADABLE");
    expect(refused.message).toContain(join(dataDir, "runs", "x.log"));
    expect(refused.message).toContain("it is a directory");
    expect((await errorOf(world.createRun({ runId: "x", workflowName: "wf", input: "[]" }))).code).toBe(
      "RUN_LOG_UNREADABLE",
    );
    await world.listRuns();
    expect(reports("x.log").length).toBeGreaterThanOrEqual(1);
    // Once per world, however often it is met.
    expect(reports("x.log").length).toBeLessThanOrEqual(2);
  });

  it("a data directory it may only read still lists and reads runs; writes name the directory and the permission", async () => {
    const dataDir = tempDir();
    const owner = open(dataDir);
    const { run } = await owner.createRun({ workflowName: "wf", input: "[]" });
    await owner.append(run.runId, 1, [{ type: "run_started" }]);
    await owner.writeStream!(run.runId, "out", ["a", "b"]);
    await owner.close();

    const script = childScript("read-only-child");
    const asRoot = process.getuid?.() === 0;
    // Root ignores permissions, so the reader runs as "nobody"; anyone else reads a tree made read-only.
    if (asRoot) {
      chmodSync(dirname(script), 0o755);
      chmodTree(dataDir, 0o755, 0o644);
    } else chmodTree(dataDir, 0o555, 0o444);
    const child = spawnSync(process.execPath, [script, dataDir, run.runId], {
      encoding: "utf8",
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout) as Record<string, unknown> & {
      [k in "lease" | "append" | "create" | "writeStream"]: { code: string; message: string };
    };
    expect(out.listed).toEqual([run.runId]);
    expect(out.events).toEqual(["run_created", "run_started"]);
    expect(out.stream).toEqual(["a", "b"]);
    for (const write of [out.lease, out.append, out.create, out.writeStream]) {
      expect(write.code).toBe("DATA_DIR_NOT_WRITABLE");
      expect(write.message).toContain(dataDir);
      expect(write.message).toMatch(/no write permission|read-only file system/);
    }
  });

  it("a data directory deleted while a run sleeps: its next use is refused by name, never lost silently", async () => {
    for (const opts of [{ watch: false }, { watch: false, maxOpenFiles: 1 }, { watch: true }]) {
      consoleError.spy.mockClear();
      const dataDir = tempDir();
      const world = open(dataDir, opts);
      const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
      const lease = (await world.acquireLease(run.runId, "executor", 60_000))!;
      const resumeAt = Date.now() + 100;
      const { run: sleeping } = await world.append(
        run.runId,
        1,
        [{ type: "run_started" }, { type: "wait_created", correlationId: "w", data: { resumeAt } }],
        { lease },
      );
      // With maxOpenFiles 1, a second run pushes the first one's descriptor out of the cache.
      await world.createRun({ workflowName: "wf", input: "[]" });
      rmSync(dataDir, { recursive: true, force: true });
      if (opts.watch) await new Promise((r) => setTimeout(r, 100));

      // The wake-up comes: the run is not offered (its file is gone), and the engine's write is refused.
      expect(await world.listDue(resumeAt + 1)).toEqual([]);
      const refused = await errorOf(
        world.append(run.runId, sleeping.lastSeq, [{ type: "wait_completed", correlationId: "w" }], {
          lease,
        }),
      );
      expect(refused.code, JSON.stringify(opts)).toBe("RUN_LOG_DELETED");
      expect(refused.message).toContain(join(dataDir, "runs", `${run.runId}.log`));
      const row = await world.getRun(run.runId);
      expect(row.quarantine).toMatchObject({ code: "RUN_LOG_DELETED", atSeq: 4 });
      expect((await world.listUnfinished()).items.map((r) => r.runId)).not.toContain(run.runId);
      expect(reports(run.runId)).toHaveLength(1);
      // What this process held stays readable.
      expect((await world.readEvents(run.runId)).map((e) => e.type)).toEqual([
        "run_created",
        "run_started",
        "wait_created",
      ]);
      // New runs work: the directories are made again.
      const fresh = (await world.createRun({ workflowName: "wf", input: "[]" })).run;
      await world.append(fresh.runId, 1, [
        { type: "hook_created", correlationId: "h", data: { token: `tok-${fresh.runId}` } },
      ]);
      const reader = open(dataDir, { watch: false });
      expect((await reader.listRuns()).items.map((r) => r.runId)).toEqual([fresh.runId]);
    }
  });
});
