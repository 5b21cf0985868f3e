/**
 * `workflow/sveltekit` in a SvelteKit app (adapter-node): one copy of the fixture is built once, then served
 * by the adapter's Node server and by `vite preview`, and run under `vite dev`; each is driven over HTTP
 * through the app's own `+server.ts` routes and the workflow endpoints the integration adds.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Project } from "../support/process.js";
import { runNode } from "../support/process.js";
import { binOf, copyFixture, driveOrder, type Server, startServer } from "./support.js";

const vite = binOf("vite", "bin/vite.js");
const servers: Server[] = [];
let project: Project;

beforeAll(async () => {
  project = copyFixture("sveltekit", "src/lib");
  await runNode(project, [vite, "build"], { register: false, env: { NO_COLOR: "1" } });
}, 180_000);

afterAll(async () => {
  for (const server of servers.splice(0)) await server.stop();
  project?.cleanup();
});

describe("SvelteKit with workflowPlugin()", () => {
  it("writes its catch-all route, ignored by git", () => {
    expect(existsSync(project.file("src/routes/.well-known/workflow/v1/[...path]/+server.js"))).toBe(true);
    expect(existsSync(project.file("src/routes/.well-known/workflow/.gitignore"))).toBe(true);
  });

  it("runs an order in the built app (adapter-node)", async () => {
    const server = await startServer(
      project,
      () => ["build/index.js"],
      (port) => new RegExp(`Listening on http://127\\.0\\.0\\.1:${port}`),
    );
    servers.push(server);
    await driveOrder(server, "ord-sveltekit-build");
  }, 60_000);

  it("runs an order under vite preview", async () => {
    const server = await startServer(
      project,
      (port) => [vite, "preview", "--port", String(port), "--host", "127.0.0.1"],
      (port) => new RegExp(`127\\.0\\.0\\.1:${port}`),
    );
    servers.push(server);
    await driveOrder(server, "ord-sveltekit-preview");
  }, 60_000);

  it("runs an order under vite dev", async () => {
    const server = await startServer(
      project,
      (port) => [vite, "dev", "--port", String(port), "--host", "127.0.0.1"],
      (port) => new RegExp(`127\\.0\\.0\\.1:${port}`),
    );
    servers.push(server);
    await driveOrder(server, "ord-sveltekit-dev");
  }, 90_000);
});
