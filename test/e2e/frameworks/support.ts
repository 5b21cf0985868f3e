/**
 * What the framework fixture tests share: copying a fixture with the shared workflow, starting one of its
 * servers as a real process on a free port, and driving an order run over HTTP only (start, a step, a
 * durable sleep, a webhook answered with a JSON body, the result).
 */
import { cpSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { copyIntoTmp, freePort, type Project, type SpawnedNode, spawnNode } from "../support/process.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const testRequire = createRequire(path.join(here, "..", "..", "package.json"));

/** A CLI's entry file, resolved from the test workspace (where the frameworks are installed). */
export function binOf(pkg: string, bin: string): string {
  return path.join(path.dirname(testRequire.resolve(`${pkg}/package.json`)), bin);
}

/** Copies `fixtures/<name>` into `test/e2e/.tmp/` with the shared workflow and routes in `<sharedDir>`. */
export function copyFixture(name: string, sharedDir: string): Project {
  const project = copyIntoTmp(path.join(here, "fixtures", name), `framework-${name}`);
  cpSync(path.join(here, "fixtures", "shared"), project.file(sharedDir), { recursive: true });
  return project;
}

export interface Server {
  base: string;
  node: SpawnedNode;
  /** Stops the server (SIGTERM) and returns its output, for failure messages. */
  stop(): Promise<string>;
}

/**
 * Starts `node <args>` (no `workflow/register`: the framework's bundler compiled the app) on a free port
 * and waits for a stdout line that `ready(port)` matches, or (`"http"`) until the server answers other than
 * 503 (a dev server that listens before its first build is done). `args` and `env` get the port.
 */
export async function startServer(
  project: Project,
  args: (port: number) => string[],
  ready: ((port: number) => RegExp) | "http",
  env: (port: number) => Record<string, string> = () => ({}),
  timeoutMs = 60_000,
): Promise<Server> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const node = spawnNode(
    project,
    args(port),
    { NO_COLOR: "1", PORT: String(port), HOST: "127.0.0.1", WORKFLOW_BASE_URL: base, ...env(port) },
    { register: false },
  );
  const stop = async () => {
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill("SIGTERM");
    const { stdout, stderr } = await node.done;
    return `stdout:\n${stdout}\nstderr:\n${stderr}`;
  };
  try {
    if (ready === "http") await untilServing(base, node, timeoutMs);
    else await node.waitForLine(ready(port), timeoutMs);
  } catch (error) {
    await stop(); // a server that never became ready must not outlive the test
    throw error;
  }
  return { base, node, stop };
}

async function untilServing(base: string, node: SpawnedNode, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (node.child.exitCode !== null) throw new Error(`the server exited: ${(await node.done).stderr}`);
    const status = await fetch(`${base}/api/runs/none/nothing`).then(
      (r) => r.status,
      () => 0,
    );
    if (status !== 0 && status !== 503) return;
    if (Date.now() > deadline) throw new Error(`${base} did not start serving within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function json(response: Response): Promise<any> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`expected JSON from ${response.url} (HTTP ${response.status}), got: ${text}`);
  }
}

/**
 * Starts an order through the app's route, reads the webhook URL the run publishes after its step and
 * sleep, answers it, and checks the result; then checks that the runtime's endpoints answer their errors.
 */
export async function driveOrder(
  server: Server,
  orderId: string,
  opts: { serverProcess?: "spawned" | "child" } = {},
): Promise<void> {
  const { base } = server;
  const started = await fetch(`${base}/api/orders`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ orderId }),
  });
  if (started.status !== 201) throw new Error(`start answered ${started.status}: ${await started.text()}`);
  const { runId } = await json(started);
  expect(runId).toMatch(/^wrun_/);

  const { url } = await json(
    await fetch(`${base}/api/runs/${runId}/webhook`, { signal: AbortSignal.timeout(30_000) }),
  );
  expect(String(url).startsWith(`${base}/.well-known/workflow/v1/webhook/`), url).toBe(true);

  const answered = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ approved: true, by: `tester-${orderId}` }),
  });
  if (answered.status !== 202)
    throw new Error(`webhook answered ${answered.status}: ${await answered.text()}\n${await server.stop()}`);

  const { status, result } = await json(
    await fetch(`${base}/api/runs/${runId}/result`, { signal: AbortSignal.timeout(30_000) }),
  );
  expect(status).toBe("completed");
  expect(result).toEqual({
    orderId,
    total: 42,
    // The step ran in the server process (a worker thread keeps its pid); `nuxt dev` serves from a child process.
    pricedByPid: opts.serverProcess === "child" ? expect.any(Number) : server.node.child.pid,
    sleptMs: expect.any(Number),
    decision: { approved: true, by: `tester-${orderId}` },
    method: "POST",
  });
  expect(result.sleptMs).toBeGreaterThanOrEqual(1000);

  // The hook ended with the run: the same token now gets the runtime's 404, through the framework.
  const again = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  expect(again.status).toBe(404);
  const flow = await fetch(`${base}/.well-known/workflow/v1/flow`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ runId: "wrun_nope" }),
  });
  expect(flow.status).toBe(404);
  expect(await json(flow)).toEqual({ error: 'no run with ID "wrun_nope" exists in this world' });
}
