/**
 * `workflow/nuxt` in a Nuxt 4 app: built once (`nuxt build`, Nitro's node-server output) and run under
 * `nuxt dev`; each is driven over HTTP through the app's `server/api` routes and the workflow handler the
 * module installs into Nuxt's Nitro.
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import { type Project, runNode } from "../support/process.js";
import { binOf, copyFixture, driveOrder, type Server, startServer } from "./support.js";

const nuxt = binOf("nuxt", "bin/nuxt.mjs");
const env = { NO_COLOR: "1", NUXT_TELEMETRY_DISABLED: "1" };
const servers: Server[] = [];
let project: Project;

beforeAll(async () => {
  project = copyFixture("nuxt", "server/lib");
  await runNode(project, [nuxt, "build"], { register: false, env });
}, 240_000);

afterAll(async () => {
  for (const server of servers.splice(0)) await server.stop();
  project?.cleanup();
});

describe("Nuxt with the workflow/nuxt module", () => {
  it("runs an order in the built app", async () => {
    const server = await startServer(
      project,
      () => [".output/server/index.mjs"],
      (port) => new RegExp(`Listening on http://127\\.0\\.0\\.1:${port}`),
      () => env,
    );
    servers.push(server);
    await driveOrder(server, "ord-nuxt-build");
  }, 60_000);

  it("runs an order under nuxt dev", async () => {
    const server = await startServer(
      project,
      (port) => [nuxt, "dev", "--port", String(port), "--host", "127.0.0.1"],
      // It listens before its first build is done.
      "http",
      () => env,
      120_000,
    );
    servers.push(server);
    await driveOrder(server, "ord-nuxt-dev", { serverProcess: "child" });
  }, 180_000);
});
