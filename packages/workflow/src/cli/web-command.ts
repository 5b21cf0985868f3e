/**
 * `wf web`: serves the dashboard (`createDashboard` from `workflow/web`) on 127.0.0.1 for the chosen world. Like every
 * operator command it executes nothing: actions are recorded in the world and the app's processes carry them out.
 * Runs until interrupted (Ctrl-C / SIGTERM), then closes the server and the world.
 */
import { createServer, type Server } from "node:http";
import { toNodeHandler } from "@wfkit/core";
import type { Command } from "commander";
import { createDashboard } from "../web/dashboard.js";
import type { CliIo } from "./io.js";
import { redact } from "./redact.js";
import { resolveWorkflow } from "./workflow-resolve.js";
import { addWorldOptions, openWorld, UsageError, type WorldFlags, worldEnv } from "./world-options.js";

export interface WebFlags extends WorldFlags {
  port: string;
  host: string;
  readOnly?: boolean;
  basePath?: string;
}

export function addWebCommand(program: Command, io: CliIo): void {
  addWorldOptions(
    program
      .command("web")
      .description("serve the dashboard (runs, timelines, events, actions) on 127.0.0.1")
      .option("--port <port>", "port to listen on (0 picks a free one)", "3456")
      .option(
        "--host <host>",
        "address to listen on (the dashboard has no login: keep it local)",
        "127.0.0.1",
      )
      .option("--base-path <path>", "serve under this path, e.g. /workflows", "/")
      .option("--read-only", "refuse every action: only watch"),
  ).action(async (flags: WebFlags) => {
    try {
      const served = await serveDashboard(flags, io);
      io.out(
        `Dashboard for the ${served.world} world: ${served.url}\n` +
          `${flags.readOnly ? "Read-only. " : ""}Press Ctrl-C to stop.\n`,
      );
      const stop = () => void served.close();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      io.err(`wf web: ${redact(message, worldEnv(flags, io).WORKFLOW_POSTGRES_URL)}\n`);
      io.exit(1);
    }
  });
}

/** Opens the world and serves the dashboard; `close()` stops the server and closes the world. */
export async function serveDashboard(
  flags: WebFlags,
  io: CliIo,
): Promise<{ url: string; world: string; close(): Promise<void> }> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be a port number from 0 to 65535, got "${flags.port}".`);
  }
  const opened = await openWorld(flags, io, { create: true });
  const basePath = flags.basePath ?? "/";
  let server: Server;
  try {
    const handler = createDashboard({
      world: opened.world,
      engine: opened.engine,
      basePath,
      readOnly: flags.readOnly === true,
      // An unknown name is the form's mistake (400), with resolveWorkflow's message naming the fix.
      resolveWorkflow: (name) =>
        resolveWorkflow(name, io.cwd()).then(
          (resolved) => resolved.workflowId,
          (error: Error) => Promise.reject(new TypeError(error.message)),
        ),
    });
    server = createServer(toNodeHandler(handler));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, flags.host, () => resolve());
    });
  } catch (error) {
    await opened.close();
    throw error;
  }
  const address = server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  return {
    url: `http://${flags.host}:${actual}${basePath.replace(/\/+$/, "")}/`,
    world: opened.world.name,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await opened.close();
    },
  };
}
