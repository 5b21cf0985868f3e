/**
 * `workflow()`: the Vitest plugin. It compiles directive files as they are imported (step shape: steps
 * registered, workflow functions carrying their IDs for `start()`), and adds the setup file that gives each test
 * file a fresh in-process runtime. Nothing is built ahead: workflow bundles are compiled on first use.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { transform } from "@wfkit/compiler";
import { OPTIONS_ENV, type WorkflowTestOptions } from "./setup-tests.js";

/** The slice of Vite's plugin interface this plugin uses (so `vite` is not a dependency of ours). */
export interface VitestPlugin {
  name: string;
  enforce?: "pre" | "post";
  config?: (config: { root?: string }) => Record<string, unknown>;
  transform?: (
    this: { error(message: string): never; warn(message: string): void },
    code: string,
    id: string,
  ) => { code: string; map?: unknown } | null;
}

const SCRIPT = /\.(?:[cm]?[jt]sx?)$/;

/**
 * Our own packages mention the directive strings in messages and are never user code; in a workspace they are
 * not under node_modules, so they are recognised by their folders.
 */
const OWN_DIRS = [
  "workflow",
  "@wfkit/core",
  "@wfkit/node",
  "@wfkit/compiler",
  "@wfkit/world",
  "@wfkit/world-local",
]
  .map((name) => {
    try {
      const file = fileURLToPath(import.meta.resolve(name));
      const at = Math.max(
        file.lastIndexOf(`${path.sep}dist${path.sep}`),
        file.lastIndexOf(`${path.sep}src${path.sep}`),
      );
      return at === -1 ? undefined : file.slice(0, at + 1);
    } catch {
      return undefined;
    }
  })
  .filter((dir): dir is string => dir !== undefined);

function setupFile(): string {
  // Next to this module, whichever of src/ (.ts) or dist/ (.js) it was loaded from.
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), `setup${path.extname(here)}`);
}

export interface WorkflowPluginOptions extends WorkflowTestOptions {
  /**
   * Add the setup file that calls `setupWorkflowTests()` / `teardownWorkflowTests()` around each test file
   * (default true). False for a manual setup: the plugin then only compiles directive files.
   */
  autoSetup?: boolean;
}

export function workflow(pluginOptions: WorkflowPluginOptions = {}): VitestPlugin[] {
  const { autoSetup = true, ...options } = pluginOptions;
  let projectRoot = path.resolve(options.cwd ?? process.cwd());
  return [
    {
      name: "wfkit-vitest",
      enforce: "pre",
      config(config) {
        projectRoot = path.resolve(options.cwd ?? config.root ?? process.cwd());
        const forwarded = JSON.stringify({ ...options, cwd: projectRoot });
        // The workers get the options through `test.env`; a `globalSetup` runs in this (the main) process, so
        // `buildWorkflowTests()` called there without options reads them from its environment.
        process.env[OPTIONS_ENV] = forwarded;
        return {
          test: {
            ...(autoSetup ? { setupFiles: [setupFile()] } : {}),
            env: { [OPTIONS_ENV]: forwarded },
          },
        };
      },
      transform(code, id) {
        const file = id.replace(/[?#].*$/, "");
        if (!path.isAbsolute(file) || !SCRIPT.test(file) || file.endsWith(".d.ts")) return null;
        if (file.includes(`${path.sep}node_modules${path.sep}`)) return null;
        if (!code.includes("use workflow") && !code.includes("use step")) return null;
        if (OWN_DIRS.some((dir) => file.startsWith(dir))) return null;
        const result = transform(code, { filename: file, projectRoot, mode: "step" });
        const problems = result.diagnostics.map(
          (d) => `${d.file}:${d.line}:${d.column}: ${d.message} ${d.hint}`,
        );
        const errors = result.diagnostics.filter((d) => d.severity === "error");
        if (errors.length > 0) this.error(`workflow compiler:\n${problems.join("\n")}`);
        if (result.workflows.length === 0 && result.steps.length === 0) return null;
        for (const warning of problems) this.warn(warning);
        return { code: result.code, map: result.map };
      },
    },
  ];
}
