/** The README's demo: the order workflow of examples/node-basic runs to completion on the local world. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const exampleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../examples/node-basic");

it("the node-basic order demo completes with retries, fan-out, a sleep and shipping", async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "wf-demo-"));
  try {
    const child = spawn(process.execPath, ["--import", "workflow/register", "src/main.ts"], {
      cwd: exampleDir,
      env: { ...process.env, WORKFLOW_LOCAL_DATA_DIR: dataDir, ORDER_COOLING_OFF: "200ms" },
    });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(code, out).toBe(0);
    expect(out).toMatch(/charge-payment\s+attempt 1 failed/);
    expect(out).toMatch(/charged \$148\.00 on attempt 3/);
    expect(out).toMatch(/email to ada@example\.com/);
    expect(out).toMatch(/sms to/);
    expect(out).toMatch(/analytics order_paid/);
    expect(out).toMatch(/ship\s+handed ord_\w+ to the carrier, tracking TRK-/);
    expect(out).toMatch(/completed:/);
    expect(out).toMatch(/trackingNumber: 'TRK-/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
