/**
 * Vite: the dev server mounts the workflow endpoints at `/.well-known/workflow/v1/*` and rebuilds the output
 * folder when a file that went into it changes; the runtime reads the rebuilt bundles on the next run.
 *
 * The endpoints are loaded through `ssrLoadModule`, and `workflow` and the `@wfkit/*` runtime stay external
 * to Vite's SSR graph, so the handlers, the app's server code and the step bundle all share one Node-loaded
 * runtime (one engine, one configuration).
 */

import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { RebuildQueue } from "@wfkit/builder";
import type { WorkflowOutput } from "./build-output.js";
import { mentionsDirective } from "./directive-filter.js";
import { HANDLERS } from "./generated.js";
import type { PluginState } from "./plugin.js";

export const WORKFLOW_BASE_PATH = "/.well-known/workflow/v1/";
const RUNTIME_PACKAGES = ["workflow", "@wfkit/core", "@wfkit/world", "@wfkit/world-local"];

/**
 * The part of Vite's dev server used here, typed structurally: the plugin must work with whichever Vite
 * major the app installs (7 or 8), whose declared types differ.
 */
export interface DevServer {
  watcher: { on(event: "change" | "add" | "unlink", listener: (file: string) => void): unknown };
  middlewares: {
    use(handler: (req: IncomingMessage, res: ServerResponse, next: (e?: unknown) => void) => void): unknown;
  };
  ssrLoadModule(url: string): Promise<Record<string, unknown>>;
  httpServer: ListeningServer | null;
  config: {
    logger: { info(msg: string, opts?: { timestamp?: boolean }): void; error(msg: string): void };
    server?: { https?: unknown };
  };
}

/** `vite preview`'s server, typed structurally like `DevServer`. */
export interface PreviewServer {
  middlewares: DevServer["middlewares"];
  httpServer: ListeningServer | null;
  config: { logger: { error(msg: string): void }; preview?: { https?: unknown } };
}

interface ListeningServer {
  once(event: "listening", listener: () => void): unknown;
  address(): AddressInfo | string | null;
}

/** The value this process set, so a restarted server (on another port) may replace it but never the user's. */
let derivedBaseUrl: string | undefined;

/**
 * Webhook URLs and `getWorkflowMetadata().url` come from WORKFLOW_BASE_URL, whose default is
 * `http://localhost:3000`; a Vite dev or preview server listens elsewhere (5173, 4173, Astro's 4321). When the
 * user set none, it becomes the address the server listens on: the runtime runs in this same process.
 */
export function fillBaseUrlOnListen(
  httpServer: ListeningServer | null,
  https: boolean,
  env: NodeJS.ProcessEnv = process.env,
): void {
  httpServer?.once("listening", () => {
    if (env.WORKFLOW_BASE_URL && env.WORKFLOW_BASE_URL !== derivedBaseUrl) return;
    const address = httpServer.address();
    if (!address || typeof address === "string") return;
    const wildcardOrLoopback = ["::", "0.0.0.0", "::1", "127.0.0.1"].includes(address.address);
    const host = wildcardOrLoopback
      ? "localhost"
      : address.family === "IPv6" || address.address.includes(":")
        ? `[${address.address}]`
        : address.address;
    derivedBaseUrl = `${https ? "https" : "http"}://${host}:${address.port}`;
    env.WORKFLOW_BASE_URL = derivedBaseUrl;
  });
}

export function viteConfig() {
  return {
    ssr: { external: RUNTIME_PACKAGES },
    // The local world writes here on every step; those writes are not source changes.
    server: { watch: { ignored: ["**/.workflow-data/**"] } },
    optimizeDeps: { exclude: RUNTIME_PACKAGES },
  };
}

export function configureViteServer(
  server: DevServer,
  state: PluginState,
  build: () => Promise<WorkflowOutput>,
): void {
  const rebuilds = new RebuildQueue(
    build,
    {
      built: () => server.config.logger.info("[workflow] rebuilt", { timestamp: true }),
      failed: (error) => server.config.logger.error(`[workflow] ${(error as Error)?.message ?? error}`),
    },
    state.building,
  );
  const onFile = (file: string, added: boolean) => {
    const abs = path.resolve(file);
    const rel = path.relative(state.options.outDir, abs);
    if (!rel.startsWith("..") && !path.isAbsolute(rel)) return;
    if (state.output?.inputs.includes(abs) || (added && mentionsDirectiveFile(abs))) rebuilds.request();
  };
  fillBaseUrlOnListen(server.httpServer, Boolean(server.config.server?.https));
  server.watcher.on("change", (file) => onFile(file, false));
  server.watcher.on("add", (file) => onFile(file, true));
  server.watcher.on("unlink", (file) => onFile(file, false));

  // Load the runtime once the server is up, so runs an earlier dev server left sleeping resume without
  // waiting for the first request.
  server.httpServer?.once("listening", () => {
    void Promise.resolve(state.building)
      .then((output) => output && server.ssrLoadModule(output.devEntry))
      .catch((error: unknown) =>
        server.config.logger.error(`[workflow] ${(error as Error)?.message ?? error}`),
      );
  });

  server.middlewares.use(async (req: IncomingMessage, res: ServerResponse, next: (e?: unknown) => void) => {
    // A request that follows an edit waits for the rebuild it triggered, so it sees the new code.
    await rebuilds.settled();
    if (!req.url?.startsWith(WORKFLOW_BASE_PATH)) return next();
    try {
      const output = state.output ?? (await state.building);
      if (!output)
        throw new Error("the workflow build has not run; check the dev server's log for its error");
      const mod = (await server.ssrLoadModule(output.devEntry)) as {
        nodeHandler: (
          req: IncomingMessage,
          res: ServerResponse,
          next: (e?: unknown) => void,
        ) => Promise<void>;
      };
      await mod.nodeHandler(req, res, next);
    } catch (error) {
      next(error);
    }
  });
}

function mentionsDirectiveFile(file: string): boolean {
  try {
    return /\.[cm]?[jt]sx?$/.test(file) && mentionsDirective(readFileSync(file, "utf8"));
  } catch {
    return false;
  }
}

/**
 * `vite preview` serves the production build: the endpoints come from the `handlers.mjs` that `vite build`
 * wrote into the output folder (workflow and step bundles read from beside it), loaded by Node itself since
 * a preview server has no module graph.
 */
export function configureVitePreview(server: PreviewServer, state: PluginState): void {
  let loading: Promise<NodeHandler> | undefined;
  const handlers = path.join(state.options.outDir, HANDLERS);
  server.middlewares.use(async (req: IncomingMessage, res: ServerResponse, next: (e?: unknown) => void) => {
    if (!req.url?.startsWith(WORKFLOW_BASE_PATH)) return next();
    try {
      if (!existsSync(handlers))
        throw new Error(
          `${handlers} does not exist: run \`vite build\` with the workflow plugin before \`vite preview\``,
        );
      loading ??= import(pathToFileURL(handlers).href).then(
        (mod) => mod.nodeHandler as NodeHandler,
        (error: unknown) => {
          loading = undefined; // the next request tries again (after a rebuild, say)
          throw error;
        },
      );
      await (await loading)(req, res, next);
    } catch (error) {
      server.config.logger.error(`[workflow] ${(error as Error)?.message ?? error}`);
      next(error);
    }
  });
}

type NodeHandler = (req: IncomingMessage, res: ServerResponse, next: (e?: unknown) => void) => Promise<void>;
