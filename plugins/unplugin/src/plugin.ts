/**
 * The one plugin behind `workflow/vite`, `workflow/esbuild`, `workflow/rollup` and `workflow/webpack`.
 *
 * - At the start of each build it writes the output folder (`.workflow/`): the workflow bundle for the
 *   sandbox, the step bundle, `manifest.json`, `handlers.mjs` and the generated entry modules.
 * - It transforms application files that contain a directive string. In a server bundle they get the step
 *   shape (the client shape plus step registration) and import the generated server entry, which embeds the
 *   workflow bundle and configures the runtime: the app bundle alone can start runs and execute their steps
 *   inline, with one instance of each module. A browser bundle gets the client shape (IDs, no bodies to run).
 */
import path from "node:path";
import { BuildError } from "@wfkit/builder";
import { mayNeedCompiler, type TransformMode, transform } from "@wfkit/compiler";
import { createUnplugin, type UnpluginFactory } from "unplugin";
import { buildWorkflowOutput, type WorkflowOutput } from "./build-output.js";
import { fileOfId, isTransformable } from "./directive-filter.js";
import { type ResolvedOptions, resolveOptions, type WorkflowPluginOptions } from "./options.js";
import { RESOLVED_ROUTES_MODULE, ROUTES_MODULE, routesModuleSource } from "./routes-module.js";
import {
  configureVitePreview,
  configureViteServer,
  type DevServer,
  fillBaseUrlOnListen,
  type PreviewServer,
  viteConfig,
} from "./vite-dev.js";

/** Shared by the plugin hooks of one bundler instance. */
export interface PluginState {
  options: ResolvedOptions;
  /** The bundler's own target when the user set none. */
  detectedTarget: "server" | "browser";
  /** Vite's dev server: directive files get the client shape and read code from disk (see vite-dev.ts). */
  dev: boolean;
  output?: WorkflowOutput;
  building?: Promise<WorkflowOutput>;
}

/**
 * Set by the framework integrations (SvelteKit, Astro) whose own server answers `/.well-known/workflow/v1/*`
 * through a generated route: `vite preview` then leaves those paths to the framework. A symbol, so it is no
 * user-facing option.
 */
export const FRAMEWORK_ROUTES = Symbol.for("wfkit.frameworkRoutes");
type InternalOptions = WorkflowPluginOptions & { [FRAMEWORK_ROUTES]?: boolean };

export const PLUGIN_NAME = "wfkit-workflow";

const LOADERS: Record<string, "ts" | "tsx" | "jsx"> = {
  ts: "ts",
  mts: "ts",
  cts: "ts",
  tsx: "tsx",
  jsx: "jsx",
};

export const unpluginFactory: UnpluginFactory<WorkflowPluginOptions | undefined> = (
  userOptions = {},
  meta,
) => {
  const state: PluginState = {
    options: resolveOptions(userOptions),
    detectedTarget: "server",
    dev: false,
  };
  const build = (): Promise<WorkflowOutput> => {
    state.building = buildWorkflowOutput(state.options).then((output) => {
      state.output = output;
      return output;
    });
    return state.building;
  };
  return {
    name: PLUGIN_NAME,
    enforce: "pre",
    async buildStart() {
      try {
        const output = await build();
        // esbuild takes watch files only from load/transform; its watch mode re-runs buildStart anyway.
        if (meta.framework !== "esbuild") for (const input of output.inputs) this.addWatchFile(input);
        for (const warning of output.warnings) console.warn(`[workflow] ${describe(warning)}`);
      } catch (error) {
        // buildStart has no `this.error` in every bundler; a thrown error fails the build in all of them.
        throw new Error(buildFailure(error), { cause: error });
      }
    },
    resolveId(id) {
      return id === ROUTES_MODULE ? RESOLVED_ROUTES_MODULE : null;
    },
    loadInclude(id) {
      return id === RESOLVED_ROUTES_MODULE;
    },
    async load(id) {
      if (id !== RESOLVED_ROUTES_MODULE) return null;
      const output = state.output ?? (await state.building);
      if (!output) throw new Error("the workflow build has not run; check the build's log for its error");
      return routesModuleSource(state.dev ? output.devEntry : output.serverEntry);
    },
    transformInclude(id) {
      return isTransformable(id, state.options.outDir);
    },
    async transform(code, id, ...rest: unknown[]) {
      if (!mayNeedCompiler(code)) return null;
      const file = fileOfId(id)!;
      // `transform`'s third argument exists in Vite only; it tells SSR modules from browser ones.
      const ssr = (rest[0] as { ssr?: boolean } | undefined)?.ssr;
      const target =
        state.options.target ?? (ssr === undefined ? state.detectedTarget : ssr ? "server" : "browser");
      const mode: TransformMode = target === "server" && !state.dev ? "step" : "client";
      const result = transform(code, { filename: file, projectRoot: state.options.projectRoot, mode });
      const errors = result.diagnostics.filter((d) => d.severity === "error");
      if (errors.length > 0)
        this.error(
          `workflow compiler: ${errors.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message} ${d.hint}`).join("\n")}`,
        );
      // A file that only mentions a directive in a string or comment (this runtime's own modules do) has no
      // workflow code, so warnings about what would stay in a workflow bundle do not apply to it. A file with
      // serializable classes only gets its registrations, and no runtime import.
      if (result.workflows.length === 0 && result.steps.length === 0) {
        return result.classes ? { code: result.code, map: result.map as never } : null;
      }
      for (const d of result.diagnostics.filter((d) => d.severity === "warning"))
        this.warn(`${d.file}:${d.line}:${d.column}: ${d.message} ${d.hint}`);
      const output = state.output ?? (await state.building);
      let out = result.code;
      // Imports are hoisted, so appending keeps the source map's lines valid.
      if (target === "server" && output)
        out += `\nimport ${JSON.stringify(state.dev ? output.devEntry : output.serverEntry)};\n`;
      // A server bundle imports directive files for their side effects alone (the server entry registers
      // every step); bundlers told that modules are side-effect free (Nitro) must keep them anyway.
      return {
        code: out,
        map: result.map as never,
        ...(target === "server" ? { moduleSideEffects: true } : {}),
      };
    },
    esbuild: {
      config(options) {
        state.detectedTarget = options.platform === "node" ? "server" : "browser";
        if (!userOptions.projectRoot && options.absWorkingDir)
          state.options = resolveOptions(userOptions, options.absWorkingDir);
      },
      // Step-shape output keeps TypeScript syntax, so the loader follows the file's extension.
      loader(_code, id) {
        const ext = path.extname(fileOfId(id) ?? id).slice(1);
        return LOADERS[ext] ?? "js";
      },
    },
    webpack(compiler) {
      const target = compiler.options.target;
      const targets = Array.isArray(target) ? target : [String(target ?? "web")];
      state.detectedTarget = targets.some((t) => t.includes("node")) ? "server" : "browser";
      if (!userOptions.projectRoot && compiler.options.context)
        state.options = resolveOptions(userOptions, compiler.options.context);
    },
    vite: {
      config: (config, env) => {
        if (!userOptions.projectRoot && config.root) state.options = resolveOptions(userOptions, config.root);
        state.dev = env.command === "serve";
        return viteConfig();
      },
      configureServer: (server) => configureViteServer(server as unknown as DevServer, state, build),
      configurePreviewServer: (server) => {
        const preview = server as unknown as PreviewServer;
        fillBaseUrlOnListen(preview.httpServer, Boolean(preview.config.preview?.https));
        if (!(userOptions as InternalOptions)[FRAMEWORK_ROUTES]) configureVitePreview(preview, state);
      },
    },
  };
};

export const unplugin = createUnplugin(unpluginFactory);

function describe(problem: { file?: string; line?: number; column?: number; message: string }): string {
  const where = problem.file
    ? `${problem.file}${problem.line ? `:${problem.line}:${problem.column ?? 0}` : ""}: `
    : "";
  return `${where}${problem.message}`;
}

function buildFailure(error: unknown): string {
  if (error instanceof BuildError) return `workflow build failed: ${error.message}`;
  return `workflow build failed: ${(error as Error)?.stack ?? String(error)}`;
}
