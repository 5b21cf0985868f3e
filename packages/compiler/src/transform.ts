import path from "node:path";
import type { Module } from "@swc/core";
import MagicString from "magic-string";
import { type Analysis, analyze } from "./analyze.js";
import { mayContainDirective } from "./directives.js";
import { emitClient } from "./emit-client.js";
import { emitStep } from "./emit-step.js";
import { emitWorkflow } from "./emit-workflow.js";
import { findProjectRoot, moduleSpecifier } from "./module-id.js";
import { checkNesting } from "./nesting.js";
import { parse } from "./parse.js";
import { computePruning, type Pruning } from "./prune.js";
import { findSerdeClasses, mentionsSerde, registration, type SerdeClass } from "./serde-classes.js";
import { SourceText } from "./source-text.js";
import type { Diagnostic, FunctionEntry, SourceMapV3, TransformOptions, TransformResult } from "./types.js";

const MODES = new Set(["workflow", "step", "client"]);

/**
 * Compiles one source file into its workflow, step or client shape (DESIGN §3). Never throws on user
 * code: syntax errors and misuse come back as diagnostics, with best-effort code.
 */
export function transform(source: string, options: TransformOptions): TransformResult {
  if (!MODES.has(options.mode)) {
    throw new TypeError(
      `transform: unknown mode ${JSON.stringify(options.mode)}; use "workflow", "step" or "client".`,
    );
  }
  const unchanged: TransformResult = { code: source, map: null, workflows: [], steps: [], diagnostics: [] };
  const directives = mayContainDirective(source);
  if (!directives && !mentionsSerde(source)) return unchanged;

  const file = options.filename;
  const tooDeep = checkNesting(source, file);
  if (tooDeep) return { ...unchanged, diagnostics: [tooDeep] };
  const parsed = parse(source, file);
  if (!parsed.ok) {
    const diagnostic: Diagnostic = {
      code: "SYNTAX_ERROR",
      severity: "error",
      message: parsed.message,
      file,
      line: parsed.line,
      column: parsed.column,
      hint: "Fix the syntax error; if the file is valid, check that its extension matches its language (.ts, .tsx, .js, .jsx).",
    };
    return { ...unchanged, diagnostics: [diagnostic] };
  }

  try {
    return directives
      ? compile(source, parsed.module, options)
      : registerOnly(source, parsed.module, options);
  } catch (error) {
    // A bug of ours must not take down a build or dev server: report it like any other problem.
    const diagnostic: Diagnostic = {
      code: "INTERNAL_ERROR",
      severity: "error",
      message: `The workflow compiler failed on this file: ${(error as Error)?.stack ?? error}`,
      file,
      line: 1,
      column: 0,
      hint: "This is a bug in the compiler; please report it with the file that triggers it.",
    };
    return { ...unchanged, diagnostics: [diagnostic] };
  }
}

function compile(source: string, module: Module, options: TransformOptions): TransformResult {
  const unchanged: TransformResult = { code: source, map: null, workflows: [], steps: [], diagnostics: [] };
  const file = options.filename;
  const text = new SourceText(source);
  const projectRoot = options.projectRoot ?? findProjectRoot();
  const spec = moduleSpecifier(file, projectRoot);
  const analysis = analyze(module, text, file, spec);
  const pruning = computePruning(analysis, text, file);
  const diagnostics = [
    ...analysis.diagnostics,
    ...pruning.diagnostics,
    ...topLevelAwaitDiagnostics(analysis, pruning, text, file),
  ].sort((a, b) => a.line - b.line || a.column - b.column);
  const workflows: FunctionEntry[] = [];
  const steps: FunctionEntry[] = [];
  for (const u of analysis.units)
    (u.kind === "workflow" ? workflows : steps).push({ name: u.name, id: u.id, loc: u.loc });
  const classes = findSerdeClasses(module, spec).filter(
    (c) => options.mode !== "workflow" || !pruning.removedStatements.has(c.topIndex),
  );
  if (analysis.units.length === 0 && classes.length === 0) return { ...unchanged, diagnostics };

  const s = new MagicString(source);
  if (analysis.units.length > 0) {
    if (options.mode === "workflow") emitWorkflow(s, analysis, pruning);
    else if (options.mode === "step") emitStep(s, analysis);
    else emitClient(s, analysis);
  }
  for (const c of classes) s.appendLeft(text.index(c.end), registration(c));
  return finish(s, source, options, { workflows, steps, diagnostics, classes });
}

/** A file with serializable classes and no directive: only the registrations are added. */
function registerOnly(source: string, module: Module, options: TransformOptions): TransformResult {
  const projectRoot = options.projectRoot ?? findProjectRoot();
  const classes = findSerdeClasses(module, moduleSpecifier(options.filename, projectRoot));
  if (classes.length === 0) return { code: source, map: null, workflows: [], steps: [], diagnostics: [] };
  const text = new SourceText(source);
  const s = new MagicString(source);
  for (const c of classes) s.appendLeft(text.index(c.end), registration(c));
  return finish(s, source, options, { workflows: [], steps: [], diagnostics: [], classes });
}

function finish(
  s: MagicString,
  source: string,
  options: TransformOptions,
  parts: Pick<TransformResult, "workflows" | "steps" | "diagnostics"> & { classes: SerdeClass[] },
): TransformResult {
  const file = options.filename;
  let map: SourceMapV3 | null = null;
  if (options.sourceMaps !== false) {
    const generated = s.generateMap({
      source: file,
      file: path.basename(file),
      includeContent: true,
      // Per-token mappings: with line-only ones every frame of a stack (after swc or esbuild chain this map)
      // shows column 1 of its line instead of the column of the throw or call.
      hires: "boundary",
    });
    map = {
      version: 3,
      file: generated.file,
      sources: generated.sources,
      sourcesContent: generated.sourcesContent ?? [source],
      names: generated.names,
      mappings: generated.mappings,
    };
  }
  const { workflows, steps, diagnostics, classes } = parts;
  return {
    code: s.toString(),
    map,
    workflows,
    steps,
    diagnostics,
    ...(classes.length > 0 ? { classes: classes.map((c) => ({ name: c.name, id: c.id })) } : {}),
  };
}

/**
 * The workflow bundle runs as one script in the sandbox, where a module cannot wait while it loads: a
 * top-level `await` that stays in the workflow shape of a directive file would fail when the bundle is built
 * (at run time under `workflow/register`). A statement that only steps use is pruned from that shape, so it
 * may await; any other is reported here, in every mode, so each tool shows it before anything runs.
 */
function topLevelAwaitDiagnostics(
  analysis: Analysis,
  pruning: Pruning,
  text: SourceText,
  file: string,
): Diagnostic[] {
  if (analysis.units.length === 0) return [];
  const out: Diagnostic[] = [];
  analysis.top.forEach((stmt, i) => {
    if (stmt.awaitAt === undefined || pruning.removedStatements.has(i)) return;
    const { line, column } = text.location(stmt.awaitAt);
    out.push({
      code: "TOP_LEVEL_AWAIT_IN_WORKFLOW_BUNDLE",
      severity: "error",
      message:
        "Top-level await in a file with workflows or steps: this statement stays in the workflow bundle, which " +
        "runs as a script in the sandbox and cannot wait while it loads.",
      file,
      line,
      column,
      hint:
        'Move the awaited call into a "use step" function and call it from the workflow, or into a module that ' +
        "only step code imports; a top-level `const x = await …` that only step bodies read is fine.",
    });
  });
  return out;
}
