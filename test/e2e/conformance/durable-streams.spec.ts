/**
 * `@durable-streams/server-conformance-tests` (the protocol's official suite) against our Durable Streams code on
 * the local and Postgres worlds: the same `serveRead` that serves run streams, plus the writable half
 * (`createWritableStreamsHandler`, forks included), storing every stream in the world as output streams of one
 * holder run. Every case the suite runs by default runs here; its reserved subscription cases run only when
 * asked for (`subscriptions: true`), as they are not part of the stream protocol.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { runConformanceTests } from "@durable-streams/server-conformance-tests";
import { createWritableStreamsHandler, toNodeHandler } from "@wfkit/core";
import type { World } from "@wfkit/world";
import { afterAll, beforeAll, describe } from "vitest";
import { type WorldSetup, worldSetups } from "../support/world-setups.js";

const setups = worldSetups("basic", () => ({}));

describe.each(["local", "postgres"] as const)("Durable Streams conformance (%s world)", (worldName) => {
  const config = { baseUrl: "", longPollTimeoutMs: 2_000 };
  let setup: WorldSetup;
  let server: Server;

  beforeAll(async () => {
    setup = await setups[worldName]();
    const world: World = setup.world;
    const holder = await world.createRun({
      runId: `wrun_dsconformance${Date.now()}`,
      workflowName: "durable-streams-conformance",
      input: "[]",
    });
    const handler = createWritableStreamsHandler({
      world,
      runId: holder.run.runId,
      longPollTimeoutMs: config.longPollTimeoutMs,
      sseMaxMs: 10_000,
    });
    server = createServer(toNodeHandler((request) => handler(request, new URL(request.url).pathname)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    config.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await setup?.cleanup();
  });

  runConformanceTests(config);
});
