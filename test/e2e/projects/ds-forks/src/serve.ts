/**
 * A Durable Streams server with the writable half of the protocol (forks included) over the world the
 * environment names, its streams kept under the run HOLDER_RUN_ID. Prints `LISTENING <port>`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createWritableStreamsHandler, toNodeHandler, worldFromEnv } from "@wfkit/core";

const world = await worldFromEnv();
const handler = createWritableStreamsHandler({
  world,
  runId: process.env.HOLDER_RUN_ID!,
  longPollTimeoutMs: 5_000,
});
const server = createServer(toNodeHandler((request) => handler(request, new URL(request.url).pathname)));
server.listen(0, "127.0.0.1", () => {
  console.log(`LISTENING ${(server.address() as AddressInfo).port}`);
});
