/**
 * Express, Hono and Fastify on `workflow/runtime`: each fixture app runs as a real process
 * (`node --import workflow/register src/server.ts`) on a free port, and the test drives it over HTTP only. A run
 * started through an app route goes through a step and a durable sleep, then waits on a webhook whose URL the
 * framework serves (`/.well-known/workflow/v1/webhook/:token`); the test answers it with a JSON body, and reads
 * the result through another app route.
 */
import { cpSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { copyIntoTmp, freePort, type Project, type SpawnedNode, spawnNode } from "../support/process.js";

const here = path.dirname(fileURLToPath(import.meta.url));

interface App {
  base: string;
  node: SpawnedNode;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Copies `fixtures/<name>` with the shared workflow into `test/e2e/.tmp/` and starts its server. */
async function startApp(name: string): Promise<App> {
  const project: Project = copyIntoTmp(path.join(here, "fixtures", name), `framework-${name}`);
  cpSync(path.join(here, "fixtures", "shared"), project.file("src"), { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const node = spawnNode(project, ["src/server.ts"], { PORT: String(port), WORKFLOW_BASE_URL: base });
  cleanups.push(async () => {
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill("SIGTERM");
    await node.done;
    project.cleanup();
  });
  await node.waitForLine(new RegExp(`${name} listening on http://127\\.0\\.0\\.1:${port}`), 30_000);
  return { base, node };
}

async function json(response: Response): Promise<any> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`expected JSON from ${response.url} (HTTP ${response.status}), got: ${text}`);
  }
}

describe.each(["express", "hono", "fastify"])("%s on workflow/runtime", (name) => {
  it("starts a run from an app route; a step, a sleep and a webhook answered over HTTP; the result", async () => {
    const app = await startApp(name);
    const output = async () => {
      app.node.child.kill("SIGTERM");
      const { stdout, stderr } = await app.node.done;
      return `stdout:\n${stdout}\nstderr:\n${stderr}`;
    };

    const started = await fetch(`${app.base}/api/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ orderId: `ord-${name}` }),
    });
    expect(started.status, await started.clone().text()).toBe(201);
    const { runId } = await json(started);
    expect(runId).toMatch(/^wrun_/);

    // The run publishes its webhook's URL after the step and the sleep.
    const { url } = await json(
      await fetch(`${app.base}/api/runs/${runId}/webhook`, { signal: AbortSignal.timeout(20_000) }),
    );
    expect(url.startsWith(`${app.base}/.well-known/workflow/v1/webhook/`), url).toBe(true);

    // A JSON body must reach the run unread by the framework's body parsing.
    const answered = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ approved: true, by: `tester-${name}` }),
    });
    if (answered.status !== 202) throw new Error(`webhook answered ${answered.status}\n${await output()}`);
    expect(await answered.text()).toBe("");

    const { status, result } = await json(
      await fetch(`${app.base}/api/runs/${runId}/result`, { signal: AbortSignal.timeout(20_000) }),
    );
    expect(status).toBe("completed");
    expect(result).toEqual({
      orderId: `ord-${name}`,
      total: 42,
      pricedByPid: app.node.child.pid,
      sleptMs: expect.any(Number),
      decision: { approved: true, by: `tester-${name}` },
      method: "POST",
    });
    expect(result.sleptMs).toBeGreaterThanOrEqual(1000);

    // The same token again: its hook ended with the run, so the framework serves the runtime's 404.
    const again = await fetch(url, { method: "POST", body: "{}" });
    expect(again.status).toBe(404);
  }, 60_000);

  it("serves the flow endpoint and leaves the app's other paths to the framework", async () => {
    const app = await startApp(name);
    const flow = await fetch(`${app.base}/.well-known/workflow/v1/flow`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ runId: "wrun_nope" }),
    });
    expect(flow.status).toBe(404);
    expect(await json(flow)).toEqual({ error: 'no run with ID "wrun_nope" exists in this world' });

    const badFlow = await fetch(`${app.base}/.well-known/workflow/v1/flow`, { method: "POST", body: "nope" });
    expect(badFlow.status).toBe(400);

    const unknownToken = await fetch(`${app.base}/.well-known/workflow/v1/webhook/no-such-token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(unknownToken.status).toBe(404);
    expect(await unknownToken.text()).toBe("");

    // A path the workflow router does not own and the app does not define: the framework's own 404.
    const other = await fetch(`${app.base}/api/nothing-here`);
    expect(other.status).toBe(404);
  }, 60_000);
});
