/**
 * `wf web`: serves the dashboard (`createDashboard` from `workflow/web`) on 127.0.0.1 for the chosen world. Like every
 * operator command it executes nothing: actions are recorded in the world and the app's processes carry them out.
 * Runs until interrupted (Ctrl-C / SIGTERM), then closes the server and the world.
 */
import type { Command } from "commander";
import { createDashboard } from "../web/dashboard.js";
import type { CliIo } from "./io.js";
import { parsePort, type ServedWorld, serveUntilStopped, serveWorld } from "./serve-world.js";
import { resolveWorkflow } from "./workflow-resolve.js";
import { addWorldOptions, openWorld, type WorldFlags } from "./world-options.js";

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
  ).action((flags: WebFlags) =>
    serveUntilStopped(
      "web",
      flags,
      io,
      () => serveDashboard(flags, io),
      (served) =>
        `Dashboard for the ${served.world} world: ${served.url}\n` +
        `${flags.readOnly ? "Read-only. " : ""}Press Ctrl-C to stop.\n`,
    ),
  );
}

/** Opens the world and serves the dashboard; `close()` stops the server and closes the world. */
export async function serveDashboard(flags: WebFlags, io: CliIo): Promise<ServedWorld> {
  const port = parsePort(flags.port);
  const opened = await openWorld(flags, io, { create: true });
  const basePath = flags.basePath ?? "/";
  return serveWorld(opened, flags.host, port, `${basePath.replace(/\/+$/, "")}/`, () =>
    createDashboard({
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
    }),
  );
}
