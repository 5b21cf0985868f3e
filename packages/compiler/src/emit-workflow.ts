import type MagicString from "magic-string";
import type { Analysis, Unit } from "./analyze.js";
import { attach, insertDefaultName, ownName } from "./emit-common.js";
import type { Pruning } from "./prune.js";
import { registerInPlace, registerWorkflow, tagInPlace, tagProperty, useStepCall } from "./snippets.js";

/**
 * Workflow mode: the shape bundled into the deterministic sandbox. Step bodies become calls to the
 * runtime's `useStep` proxy; workflows keep their bodies and are registered; what only steps used goes.
 */
export function emitWorkflow(s: MagicString, analysis: Analysis, pruning: Pruning): void {
  for (const unit of analysis.units) {
    if (unit.kind === "step") {
      s.overwrite(unit.start, unit.end, stepStub(unit));
      // The stub carries its step's ID, so workflow code can pass the step itself as a value (to another
      // step, or as a start() argument) and the runtime serializes it as a step reference.
      const b = unit.binding.kind;
      if (!unit.parent && (b === "statement" || b === "expression"))
        attach(s, unit, (ref) => tagProperty(ref, "stepId", unit.id), tagInPlace("stepId", unit.id));
    } else {
      insertDefaultName(s, unit);
      attach(s, unit, (ref) => registerWorkflow(ref, unit.id), registerInPlace("workflows", unit.id));
    }
  }
  pruning.apply(s);
}

/**
 * A step as the workflow sees it: same name and kind of function, parameters collected as `...args` so
 * every parameter shape (defaults, destructuring, rest) reaches the step untouched and default values are
 * evaluated where the body runs.
 */
function stepStub(unit: Unit): string {
  const call = useStepCall(unit.id, unit.closure);
  if (unit.shape === "arrow") return `async (...args) => { return ${call}(...args); }`;
  const body = `{ return ${call}.apply(this, args); }`;
  if (unit.shape === "method")
    return `${unit.isStatic ? "static " : ""}async ${unit.keyText}(...args) ${body}`;
  const name = ownName(unit);
  return `async function${name ? ` ${name}` : ""}(...args) ${body}`;
}
