/**
 * `workflow/astro` in an Astro 5 app (`output: "server"`, `@astrojs/node` standalone): one copy of the fixture
 * is built once and served by the adapter's Node server, and run under `astro dev`; each is driven over HTTP
 * through the app's own API routes and the route the integration injects.
 *
 * Astro 6 needs Node.js 22, so this suite (run on Node 20 too) stays on Astro 5.
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import { type Project, runNode } from "../support/process.js";
import { binOf, copyFixture, driveOrder, type Server, startServer } from "./support.js";

const astro = binOf("astro", "astro.js");
const env = { NO_COLOR: "1", ASTRO_TELEMETRY_DISABLED: "1" };
const servers: Server[] = [];
let project: Project;

beforeAll(async () => {
  project = copyFixture("astro", "src/lib");
  await runNode(project, [astro, "build"], { register: false, env });
}, 180_000);

afterAll(async () => {
  for (const server of servers.splice(0)) await server.stop();
  project?.cleanup();
});

describe("Astro with the workflow() integration", () => {
  it("runs an order in the built app (@astrojs/node)", async () => {
    const server = await startServer(
      project,
      () => ["dist/server/entry.mjs"],
      (port) => new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`),
      () => env,
    );
    servers.push(server);
    await driveOrder(server, "ord-astro-build");
  }, 60_000);

  it("runs an order under astro dev", async () => {
    const server = await startServer(
      project,
      (port) => [astro, "dev", "--port", String(port), "--host", "127.0.0.1"],
      (port) => new RegExp(`127\\.0\\.0\\.1:${port}`),
      () => env,
    );
    servers.push(server);
    await driveOrder(server, "ord-astro-dev");
  }, 90_000);
});
