import type MagicString from "magic-string";
import type { Analysis, ImportInfo } from "./analyze.js";
import { isNodeBuiltin } from "./node-builtins.js";
import type { SourceText } from "./source-text.js";
import type { Diagnostic } from "./types.js";

/**
 * What the workflow bundle can do without: module-level imports and helpers that only step bodies use
 * (directly, or through other such helpers), plus unused Node.js built-in imports. Anything exported or
 * reachable from code that stays (workflow bodies, other top-level statements) is kept.
 */
export interface Pruning {
  removedStatements: Set<number>;
  removedSpecifiers: Map<ImportInfo, Set<string>>;
  diagnostics: Diagnostic[];
  apply(s: MagicString): void;
}

export function computePruning(analysis: Analysis, text: SourceText, file: string): Pruning {
  const { top, imports, units } = analysis;
  const declaredIn = new Map<string, number>();
  top.forEach((stmt, i) => {
    for (const name of stmt.names) declaredIn.set(name, i);
  });
  const holdsUnit = new Set(units.filter((u) => !u.parent).map((u) => u.topIndex));
  const candidate = (i: number) => top[i]!.removable && !holdsUnit.has(i);

  // Everything reachable from a statement that stays, following the uses of the declarations reached.
  const reach = (seeds: Iterable<string>): Set<string> => {
    const seen = new Set<string>();
    const queue = [...seeds];
    while (queue.length) {
      const name = queue.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const i = declaredIn.get(name);
      if (i !== undefined && candidate(i)) for (const used of top[i]!.uses) queue.push(used);
    }
    return seen;
  };
  const rootUses: string[] = [];
  const workflowUses: string[] = [];
  // Loops, not `push(...set)`: spreading a set of 100,000+ names overflows the call stack.
  top.forEach((stmt, i) => {
    if (!candidate(i)) for (const name of stmt.uses) rootUses.push(name);
    for (const name of stmt.workflowUses) workflowUses.push(name);
  });
  const live = reach(rootUses);
  const liveFromWorkflows = reach(workflowUses);
  const stepOnly = reach(analysis.stepUses);

  const removedStatements = new Set<number>();
  const importStatements = new Set(imports.map((imp) => imp.statementIndex));
  top.forEach((stmt, i) => {
    if (!candidate(i) || stmt.names.length === 0) return;
    if (importStatements.has(i)) return;
    if (stmt.names.some((n) => live.has(n))) return;
    if (stmt.names.some((n) => stepOnly.has(n))) removedStatements.add(i);
  });

  const removedSpecifiers = new Map<ImportInfo, Set<string>>();
  const diagnostics: Diagnostic[] = [];
  for (const imp of imports) {
    if (imp.typeOnly) continue;
    const builtin = isNodeBuiltin(imp.source);
    if (imp.specifiers.length === 0) {
      if (builtin) removedStatements.add(imp.statementIndex);
      continue;
    }
    const removed = new Set<string>();
    for (const spec of imp.specifiers) {
      if (spec.typeOnly) continue;
      if (live.has(spec.local)) {
        if (builtin)
          diagnostics.push(builtinDiagnostic(imp, spec.local, liveFromWorkflows.has(spec.local), text, file));
        continue;
      }
      if (stepOnly.has(spec.local) || builtin) removed.add(spec.local);
    }
    if (removed.size) removedSpecifiers.set(imp, removed);
  }

  return {
    removedStatements,
    removedSpecifiers,
    diagnostics,
    apply(s) {
      const code = s.original;
      for (const i of removedStatements) {
        const { start, end } = top[i]!;
        s.remove(start, code[end] === "\n" ? end + 1 : end);
      }
      for (const [imp, removed] of removedSpecifiers) {
        const rebuilt = rebuildImport(imp, removed);
        if (rebuilt) s.overwrite(imp.start, imp.end, rebuilt);
        else s.remove(imp.start, code[imp.end] === "\n" ? imp.end + 1 : imp.end);
      }
    },
  };
}

function rebuildImport(imp: ImportInfo, removed: Set<string>): string {
  const kept = imp.specifiers.filter((spec) => !removed.has(spec.local));
  const source = JSON.stringify(imp.source);
  if (kept.length === 0) return "";
  const valueKept = kept.some((spec) => !spec.typeOnly);
  const parts: string[] = [];
  const named: string[] = [];
  for (const spec of kept) {
    if (spec.kind === "default") parts.push(spec.local);
    else if (spec.kind === "namespace") parts.push(`* as ${spec.local}`);
    else
      named.push(
        valueKept || !spec.text.startsWith("type ") ? spec.text : spec.text.slice("type ".length).trimStart(),
      );
  }
  if (named.length) parts.push(`{ ${named.join(", ")} }`);
  // Only type-only names left: `import type` so the type stripper drops the statement with its module.
  return `import ${valueKept ? "" : "type "}${parts.join(", ")} from ${source};`;
}

function builtinDiagnostic(
  imp: ImportInfo,
  local: string,
  fromWorkflow: boolean,
  text: SourceText,
  file: string,
): Diagnostic {
  const { line, column } = text.location(imp.start);
  const where = fromWorkflow ? "workflow code" : "module-level code that stays in the workflow bundle";
  return {
    code: "NODE_BUILTIN_IN_WORKFLOW",
    severity: fromWorkflow ? "error" : "warning",
    message: `Node.js built-in "${imp.source}" (\`${local}\`) is used by ${where}, which runs in a sandbox without Node.js APIs.`,
    file,
    line,
    column,
    hint: `Move the code that uses \`${local}\` into a "use step" function and call that step from the workflow.`,
  };
}
