/**
 * `withWorkflow(nextConfig, options?)`: returns Next's config as a function of the phase, so it knows
 * whether Next builds (`.workflow/` and the routes are written once), serves in dev (the same, then a
 * watcher rebuilds) or serves a production build (nothing to build; the runtime is configured at once so
 * runs a previous server left sleeping resume without waiting for a request).
 *
 * The bundler part is the same for Turbopack and webpack: a loader gives files with a directive the
 * client shape, and `workflow` stays external to the server bundle so the routes, the app and the step
 * bundle share one Node-loaded runtime.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { findProjectRoot } from "@wfkit/compiler";
import type { NextConfig } from "next";
import type { WorkflowLoaderOptions } from "./loader-options.js";
import { configureNextRuntime, type NextRuntimeOptions } from "./next-runtime.js";

export interface WithWorkflowOptions {
  /** IDs are relative to it and discovery starts here; default the folder with a package.json at or above `process.cwd()`. */
  projectRoot?: string;
  /** The build output folder (bundles and manifest); default `.workflow` in the project root. */
  outDir?: string;
  /** Globs (relative to the project root) that limit discovery of directive files. */
  include?: string[];
  exclude?: string[];
  /** Extra package.json export conditions for the workflow and step bundles. */
  conditions?: string[];
  tsconfig?: string;
  /**
   * `next build` also writes the Vercel deployment of the workflows (Build Output API v3 in `.vercel/output/`: the
   * flow function with its queue trigger, the tick function and its cron job). Default: when building on Vercel
   * (`VERCEL=1`). `maxDuration` in seconds (default 300) is the flow function's limit and each invocation's budget;
   * `heartbeat` the cron expression of the job calling the tick function (default every minute; false: none).
   */
  vercel?: boolean | { maxDuration?: number; heartbeat?: string | false };
}

export type NextConfigFunction = (
  phase: string,
  context: { defaultConfig: NextConfig },
) => NextConfig | Promise<NextConfig>;

const PHASE_BUILD = "phase-production-build";
const PHASE_DEV = "phase-development-server";
const PHASE_SERVER = "phase-production-server";

/**
 * Files the loader looks at; Turbopack then only hands it those whose text holds a quoted directive or a
 * string one edit away from one (`"use workfow"`, which the compiler reports): such a string keeps "use" or
 * "step"/"workflow" intact; or that names the serializer keys of a class the compiler registers. No lookarounds: Turbopack runs this pattern with Rust's regex engine.
 */
const EXTENSIONS = ["ts", "tsx", "mts", "js", "jsx", "mjs"];
const DIRECTIVE =
  /["'](?:use[^"'\n]{3,10}|[^"'\n]{2,4}(?:step|workflow)[^"'\n]?)["']|WORKFLOW_(?:DE)?SERIALIZE|workflow-(?:de)?serialize/;

export function withWorkflow(
  nextConfig: NextConfig | NextConfigFunction = {},
  options: WithWorkflowOptions = {},
): NextConfigFunction {
  return async function workflowNextConfig(phase, context) {
    const config = typeof nextConfig === "function" ? await nextConfig(phase, context) : nextConfig;
    // Next's telemetry flusher only reads `distDir`: a dev build there would never let it exit.
    if (phase === PHASE_DEV && isTelemetryFlush()) return config;
    const projectRoot = options.projectRoot ? path.resolve(options.projectRoot) : findProjectRoot();
    const outDir = path.resolve(projectRoot, options.outDir ?? ".workflow");
    const runtime: NextRuntimeOptions = {
      root: projectRoot,
      outDir: path.relative(projectRoot, outDir),
      dev: phase === PHASE_DEV,
      basePath: config.basePath ?? "",
    };
    if (phase === PHASE_BUILD || phase === PHASE_DEV) {
      // Loaded here only: `next start` and the routes never need esbuild, swc or chokidar.
      const { prepareBuild, prepareDev } = await import("./workflow-build.js");
      const build = { ...options, projectRoot, outDir, runtime };
      await (phase === PHASE_DEV ? prepareDev(build) : prepareBuild(build));
    }
    if (phase === PHASE_DEV || phase === PHASE_SERVER) configureNextRuntime(runtime);
    return withBundlerConfig(config, { projectRoot, runtime });
  };
}

/**
 * When `next dev` exits, Next starts `next/dist/telemetry/detached-flush.js`, a detached process that loads the
 * config in the development phase to find `distDir` and then waits for its event loop to empty. The dev
 * build's file watcher and esbuild service would keep it (and its rebuilds) alive for good.
 */
export function isTelemetryFlush(argv: readonly string[] = process.argv): boolean {
  return /[\\/]telemetry[\\/]detached-flush\.js$/.test(argv[1] ?? "");
}

/** The loader rules (Turbopack and webpack) and `serverExternalPackages`, merged into the user's config. */
export function withBundlerConfig(
  config: NextConfig,
  { projectRoot, runtime }: { projectRoot: string; runtime: NextRuntimeOptions },
): NextConfig {
  const loader = loaderPath();
  const loaderFor = (server: boolean) => ({
    loader,
    options: { projectRoot, server, runtime } satisfies WorkflowLoaderOptions as never,
  });
  const ours = (server: boolean) => ({
    loaders: [loaderFor(server)],
    condition: {
      all: [server ? "node" : { not: "node" }, { not: "foreign" }, { content: DIRECTIVE }],
    } as never,
  });
  const rules = { ...config.turbopack?.rules };
  for (const ext of EXTENSIONS) {
    const key = `*.${ext}`;
    const existing = rules[key];
    const mine = [ours(true), ours(false)];
    rules[key] = existing ? [...mine, ...(Array.isArray(existing) ? existing : [existing])] : mine;
  }
  const userWebpack = config.webpack;
  return {
    ...config,
    serverExternalPackages: [...new Set([...(config.serverExternalPackages ?? []), "workflow"])],
    turbopack: { ...config.turbopack, rules },
    webpack(
      webpackConfig: { module: { rules: unknown[] } },
      ctx: { isServer: boolean; nextRuntime?: string },
    ) {
      webpackConfig.module.rules.unshift({
        test: /\.[cm]?[jt]sx?$/,
        exclude: /node_modules/,
        enforce: "pre",
        use: [loaderFor(ctx.isServer && ctx.nextRuntime === "nodejs")],
      });
      return userWebpack ? userWebpack(webpackConfig, ctx as never) : webpackConfig;
    },
  };
}

/** The compiled loader sits beside this module in `dist/`. */
function loaderPath(): string {
  return fileURLToPath(new URL("./loader.cjs", import.meta.url));
}
