/**
 * `workflow/vite` on a Vite dev server (a child process, on a free port) driven over HTTP: the server mounts
 * the workflow endpoints, app server code loaded with `ssrLoadModule` starts runs, and a hot edit to a step
 * file changes the result of the next run.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFixture, type Fixture, type NodeServer, startPlainNode } from "./support.js";

// The Vite major the plugin is developed against (the root's Vite belongs to Vitest).
const pluginDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../plugins/unplugin");
const vitePath = createRequire(path.join(pluginDir, "package.json")).resolve("vite");

describe("workflow/vite dev server", () => {
  let app: Fixture;
  let server: NodeServer;
  let base: string;
  beforeAll(async () => {
    app = copyFixture("vite-app");
    server = startPlainNode(app, "dev-server.mjs", { VITE_PATH: vitePath });
    const port = (await server.waitForLine(/^READY \d+/)).split(" ")[1];
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server?.stop();
    app?.cleanup();
  });

  const runWelcome = async (name: string) => {
    const started = await fetch(`${base}/api/start?name=${name}`, { method: "POST" });
    if (!started.ok) throw new Error(`${await started.text()}\n${server.output()}`);
    const { runId } = (await started.json()) as { runId: string };
    const { value } = (await (await fetch(`${base}/api/result?runId=${runId}`)).json()) as { value: unknown };
    return { runId, value };
  };

  it("runs a workflow started by app server code and serves the flow endpoint", async () => {
    const { runId, value } = await runWelcome("ada");
    expect(value).toBe("hello ada!");
    const flow = await fetch(`${base}/.well-known/workflow/v1/flow`, {
      method: "POST",
      body: JSON.stringify({ runId }),
    });
    expect(flow.status).toBe(202);
    expect(await flow.json()).toEqual({ runId, driving: false });
    expect((await fetch(`${base}/.well-known/workflow/v1/webhook/unknown`, { method: "POST" })).status).toBe(
      404,
    );
  });

  it("uses the edited step in the next run after a hot edit", async () => {
    const manifest = () => readFileSync(app.file(".workflow/manifest.json"), "utf8");
    const before = manifest();
    const steps = app.file("src/steps.ts");
    writeFileSync(steps, readFileSync(steps, "utf8").replace("`hello ", "`howdy "));
    await expect.poll(manifest, { timeout: 15_000, interval: 50 }).not.toBe(before);
    // The server's log says which rebuilds ran and when, should this ever see the old step.
    expect((await runWelcome("bob")).value, server.output()).toBe("howdy bob!");
  });
});
