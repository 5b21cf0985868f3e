/**
 * The same demo app, unchanged, on the Postgres world (`WORKFLOW_TARGET_WORLD=postgres`): it completes and the
 * process exits by itself once its run has ended.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getTestDatabase } from "@wfkit/world-postgres/testing";
import { expect, it } from "vitest";

const exampleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../examples/node-basic");

it("the node-basic order demo runs unchanged on the Postgres world and exits by itself", async () => {
  const db = await getTestDatabase();
  try {
    const child = spawn(process.execPath, ["--import", "workflow/register", "src/main.ts"], {
      cwd: exampleDir,
      env: {
        ...process.env,
        WORKFLOW_TARGET_WORLD: "postgres",
        WORKFLOW_POSTGRES_URL: db.url,
        WORKFLOW_POSTGRES_SCHEMA: db.schema,
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
  } finally {
    await db.cleanup();
  }
}, 60_000);
