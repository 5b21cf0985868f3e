/**
 * The same demo app, unchanged, on the SQLite world (`WORKFLOW_TARGET_WORLD=sqlite`): it completes and the process
 * exits by itself once its run has ended (the world's watcher and poll timer do not hold it open).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createSqliteWorld } from "@wfkit/world-sqlite";
import { expect, it } from "vitest";

const exampleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../examples/node-basic");

it("the node-basic order demo runs unchanged on the SQLite world and exits by itself", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "wfkit-demo-sqlite-"));
  const db = path.join(dir, "workflow.db");
  try {
    const child = spawn(process.execPath, ["--import", "workflow/register", "src/main.ts"], {
      cwd: exampleDir,
      env: {
        ...process.env,
        WORKFLOW_TARGET_WORLD: "sqlite",
        WORKFLOW_SQLITE_PATH: db,
        ORDER_COOLING_OFF: "200ms",
      },
    });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(code, out).toBe(0);
    expect(out).toMatch(/charged \$148\.00 on attempt 3/);
    expect(out).toMatch(/ship\s+handed ord_\w+ to the carrier/);
    expect(out).toMatch(/completed:/);
    // The run is in the file, finished.
    const world = await createSqliteWorld({ path: db });
    try {
      const { items } = await world.listRuns();
      expect(items.map((r) => r.status)).toEqual(["completed"]);
    } finally {
      await world.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
