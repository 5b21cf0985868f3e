/**
 * What the CLI's servers (`wf web`, `wf streams serve`) share: the `--port` check, serving a handler for an opened
 * world on a local address, and running until Ctrl-C / SIGTERM with a failure to start reported as the command's
 * error.
 */
import { createServer, type Server } from "node:http";
import { type MaybeHandler, toNodeHandler } from "@wfkit/core";
import type { CliIo } from "./io.js";
import { redact } from "./redact.js";
import { type OpenedWorld, UsageError, type WorldFlags, worldEnv } from "./world-options.js";

/** A server of an opened world; `close()` stops the server and closes the world. */
export interface ServedWorld {
  url: string;
  world: string;
  close(): Promise<void>;
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number from 0 to 65535, got "${value}".`);
  return port;
}

/**
 * Serves the handler that `build` returns on `host`:`port` (0 picks a free port); the URL reported is the address
 * followed by `path`. When the handler cannot be built or the port not listened on, the world is closed and the error
 * thrown.
 */
export async function serveWorld(
  opened: OpenedWorld,
  host: string,
  port: number,
  path: string,
  build: () => MaybeHandler,
): Promise<ServedWorld> {
  let server: Server;
  try {
    server = createServer(toNodeHandler(build()));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
  } catch (error) {
    await opened.close();
    throw error;
  }
  const address = server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  return {
    url: `http://${host}:${actual}${path}`,
    world: opened.world.name,
    async close() {
      // Followers and dashboards hold connections open; drop them so the server can stop.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await opened.close();
    },
  };
}

/**
 * The action of a serving command (`wf <command>`): starts `serve`, prints `banner`, and stops on Ctrl-C / SIGTERM. A
 * failure to start is printed (with a Postgres URL's password redacted) and exits 1.
 */
export async function serveUntilStopped(
  command: string,
  flags: WorldFlags,
  io: CliIo,
  serve: () => Promise<ServedWorld>,
  banner: (served: ServedWorld) => string,
): Promise<void> {
  try {
    const served = await serve();
    io.out(banner(served));
    const stop = () => void served.close();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    io.err(`wf ${command}: ${redact(message, worldEnv(flags, io).WORKFLOW_POSTGRES_URL)}\n`);
    io.exit(1);
  }
}
