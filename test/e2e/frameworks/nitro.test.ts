/**
 * `workflow/nitro` in a Nitro 2 app (`nitropack`): one copy of the fixture is built once and served by the
 * node-server output, and run under `nitropack dev` (which rebuilds with Rollup and runs the app in a worker
 * thread); each is driven over HTTP through the app's API routes and the handler the module registers.
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import { type Project, runNode } from "../support/process.js";
import { binOf, copyFixture, driveOrder, type Server, startServer } from "./support.js";

const nitro = binOf("nitropack", "dist/cli/index.mjs");
const servers: Server[] = [];
let project: Project;

beforeAll(async () => {
  project = copyFixture("nitro", "server/lib");
  await runNode(project, [nitro, "build"], { register: false, env: { NO_COLOR: "1" } });
}, 180_000);

afterAll(async () => {
  for (const server of servers.splice(0)) await server.stop();
  project?.cleanup();
});

describe("Nitro 2 with the workflow/nitro module", () => {
  it("runs an order in the built app (node-server preset)", async () => {
    const server = await startServer(
      project,
      () => [".output/server/index.mjs"],
      (port) => new RegExp(`Listening on http://127\\.0\\.0\\.1:${port}`),
    );
    servers.push(server);
    await driveOrder(server, "ord-nitro-build");
  }, 60_000);

  it("runs an order under nitropack dev", async () => {
    const server = await startServer(
      project,
      (port) => [nitro, "dev", "--port", String(port), "--host", "127.0.0.1"],
      // It listens before its first build is done, answering 503 until then.
      "http",
    );
    servers.push(server);
    await driveOrder(server, "ord-nitro-dev");
  }, 120_000);
});
