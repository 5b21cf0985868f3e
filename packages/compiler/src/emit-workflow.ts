import type MagicString from "magic-string";
import type { Analysis, Unit } from "./analyze.js";
import { attach, insertDefaultName, ownName } from "./emit-common.js";
import type { Pruning } from "./prune.js";
import {
  registerInPlace,
  registerWorkflow,
  tagStepReference,
  tagStepReferenceInPlace,
  useStepCall,
} from "./snippets.js";

/**
 * Workflow mode: the shape bundled into the deterministic sandbox. Step bodies become calls to the
 * runtime's `useStep` proxy; workflows keep their bodies and are registered; what only steps used goes.
 */
export function emitWorkflow(s: MagicString, analysis: Analysis, pruning: Pruning): void {
  for (const unit of analysis.units) {
    if (unit.kind === "step") {
      let stub = stepStub(unit);
      const nestedClosure = unit.closure.length ? unit.closure : undefined;
      if (unit.binding.kind === "nested" && unit.shape !== "method" && !unit.declaration) {
        // A nested step written as an expression carries its reference (ID and closure) in place.
        const [open, close] = tagStepReferenceInPlace(unit.id, nestedClosure);
        stub = `${open}${stub}${close}`;
      } else if (unit.binding.kind === "nested" && unit.declaration && unit.ownName) {
        // A nested declaration is tagged by the statement after it, so it can be passed as a value too.
        stub = `${stub}\n${tagStepReference(unit.ownName, unit.id, nestedClosure)}`;
      }
      s.overwrite(unit.start, unit.end, stub);
      // The stub carries its step's ID, so workflow code can pass the step itself as a value (to another
      // step, or as a start() argument) and the runtime serializes it as a step reference.
      // A nested step also carries how to read the workflow variables it closes over, which go with it.
      const b = unit.binding.kind;
      if (b === "statement" || b === "expression") {
        const closure = unit.parent && unit.closure.length > 0 ? unit.closure : undefined;
        attach(
          s,
          unit,
          (ref) => tagStepReference(ref, unit.id, closure),
          tagStepReferenceInPlace(unit.id, closure),
        );
      }
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
