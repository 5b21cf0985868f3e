import type MagicString from "magic-string";
import type { Analysis } from "./analyze.js";
import { attach, insertDefaultName, replaceBody } from "./emit-common.js";
import { tagInPlace, tagProperty, workflowThrowInClient } from "./snippets.js";

/**
 * Client mode: application code. Workflow bodies throw (launch them with `start()`), both kinds carry
 * their ID so `start(fn)` and step references can be resolved. Steps nested in a workflow go with its body.
 */
export function emitClient(s: MagicString, analysis: Analysis): void {
  for (const unit of analysis.units) {
    if (unit.parent || unit.host) continue;
    const prop = unit.kind === "workflow" ? "workflowId" : "stepId";
    if (unit.kind === "workflow") replaceBody(s, unit, workflowThrowInClient(unit.name));
    insertDefaultName(s, unit);
    attach(s, unit, (ref) => tagProperty(ref, prop, unit.id), tagInPlace(prop, unit.id));
  }
}
