/**
 * The webpack / Turbopack loader `withWorkflow` puts in front of Next's own compiler: files with a
 * directive get the client shape (see client-shape.ts). Workflow bodies become throws that carry
 * `workflowId` (so `start()` can name them) and steps carry `stepId`; their real code runs from the
 * `.workflow/` build instead.
 *
 * CommonJS because webpack and Turbopack's loader runner `require` loaders; the ESM part is loaded with
 * `import()`.
 */
import type { WorkflowLoaderOptions } from "./loader-options.js";

interface LoaderContext {
  resourcePath: string;
  getOptions(): WorkflowLoaderOptions;
  async(): (error: Error | null, code?: string, map?: unknown) => void;
  emitWarning(warning: Error): void;
}

let shaper: Promise<typeof import("./client-shape.js")> | undefined;

function workflowLoader(this: LoaderContext, source: string, map?: unknown): void {
  const callback = this.async();
  // Turbopack already filtered on content; webpack sends every script, and most have no directive. The
  // anchors of a directive or of a one-edit typo of one ("use workfow"): one edit keeps "use", "step" or
  // "workflow" intact; the compiler tells typos from other strings. WORKFLOW_SERIALIZE marks a class the
  // compiler registers for serialization.
  if (!/use|step|workflow/i.test(source)) {
    callback(null, source, map);
    return;
  }
  const options = this.getOptions();
  shaper ??= import("./client-shape.js");
  shaper
    .then(({ clientShape }) => clientShape(source, this.resourcePath, options))
    .then(
      (out) => {
        if (!out) return callback(null, source, map);
        for (const w of out.warnings) this.emitWarning(new Error(`workflow compiler: ${w}`));
        callback(null, out.code, out.map);
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
}

export = workflowLoader;
