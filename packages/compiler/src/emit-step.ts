import type MagicString from "magic-string";
import { type Analysis, pickFreeName, type Unit } from "./analyze.js";
import { attach, insertDefaultName, replaceBody } from "./emit-common.js";
import {
  readClosure,
  registerInPlace,
  registerStep,
  tagInPlace,
  tagProperty,
  workflowThrowInStepCode,
} from "./snippets.js";

/**
 * Step mode: the shape loaded with full Node.js access. Step bodies stay and are registered by ID;
 * workflow bodies throw; steps nested in a workflow are moved (not copied, so the source map still points
 * at their original lines) to module scope, where they read the workflow variables they close over from
 * the closure that travelled with the call.
 */
export function emitStep(s: MagicString, analysis: Analysis): void {
  const taken = new Set(analysis.moduleNames);
  // Grouped in one pass: looking each workflow's steps up in the whole list made this quadratic.
  const nestedIn = new Map<Unit, Unit[]>();
  for (const unit of analysis.units) {
    if (!unit.parent) continue;
    const list = nestedIn.get(unit.parent);
    if (list) list.push(unit);
    else nestedIn.set(unit.parent, [unit]);
  }
  for (const unit of analysis.units) {
    if (unit.parent) continue;
    if (unit.host) {
      registerHostedCopy(s, unit, taken);
      continue;
    }
    if (unit.kind === "step") {
      insertDefaultName(s, unit);
      attach(s, unit, (ref) => registerStep(ref, unit.id), registerInPlace("steps", unit.id));
      continue;
    }
    const nested = nestedIn.get(unit);
    if (nested) hoistNestedSteps(s, unit, nested, taken);
    else replaceBody(s, unit, workflowThrowInStepCode(unit.name));
    insertDefaultName(s, unit);
    attach(s, unit, (ref) => tagProperty(ref, "workflowId", unit.id), tagInPlace("workflowId", unit.id));
  }
}

function hoistNestedSteps(s: MagicString, workflow: Unit, nested: Unit[], taken: Set<string>): void {
  const end = s.original.length;
  // The workflow body between nested steps is dropped; the first gap (it holds the directive, so it is
  // never empty) becomes the throw.
  let cursor = workflow.bodyStart + 1;
  nested.forEach((step, i) => {
    if (i === 0) s.overwrite(cursor, step.start, ` ${workflowThrowInStepCode(workflow.name)} `);
    else if (step.start > cursor) s.remove(cursor, step.start);
    cursor = step.end;
  });
  if (workflow.bodyEnd - 1 > cursor) s.remove(cursor, workflow.bodyEnd - 1);

  for (const step of nested) {
    const name = pickFreeName(`__step_${step.name.replace(/[^\w$]/g, "_")}`, taken);
    taken.add(name);
    s.move(step.start, step.end, end);
    s.overwrite(step.start, step.bodyStart, `\nasync function ${name}(${step.paramsText}) `);
    if (step.closure.length) s.appendLeft(step.directiveEnd, `\n${readClosure(step.closure)}`);
    s.appendLeft(step.end, `\n${registerStep(name, step.id)}\n`);
  }
}

/**
 * A step inside an ordinary function stays where it is (called in step code it simply runs, over the real
 * variables); a module-level copy reading its closure from the call is what the step's ID is registered to.
 * Copied rather than moved because the host function still runs in step code.
 */
function registerHostedCopy(s: MagicString, step: Unit, taken: Set<string>): void {
  const name = pickFreeName(`__step_${step.name.replace(/[^\w$]/g, "_")}`, taken);
  taken.add(name);
  const text = s.original;
  const body = step.closure.length
    ? `${text.slice(step.bodyStart, step.directiveEnd)}\n${readClosure(step.closure)}${text.slice(step.directiveEnd, step.bodyEnd)}`
    : text.slice(step.bodyStart, step.bodyEnd);
  s.append(`\nasync function ${name}(${step.paramsText}) ${body}\n${registerStep(name, step.id)}\n`);
}
