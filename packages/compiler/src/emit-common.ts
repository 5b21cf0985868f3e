import type MagicString from "magic-string";
import type { Unit } from "./analyze.js";
import { isIdentifierName } from "./function-text.js";

/** The name a unit can be called by inside its own regenerated text, if any. */
export function ownName(unit: Unit): string | null {
  if (unit.ownName) return unit.ownName;
  return unit.binding.kind === "statement" ? (unit.binding.insertName?.name ?? null) : null;
}

/**
 * Gives an anonymous `export default async function () {}` the name registration code refers to. Skipped
 * when the function's text is regenerated anyway (the stub carries the name).
 */
export function insertDefaultName(s: MagicString, unit: Unit): void {
  if (unit.binding.kind === "statement" && unit.binding.insertName) {
    s.appendLeft(unit.binding.insertName.at, ` ${unit.binding.insertName.name}`);
  }
}

/**
 * Attaches code that makes the unit known to the runtime: after its statement when it has a name there,
 * else around the function expression in place. `statement` is the code to emit for a reference,
 * `inPlace` the prefix/suffix pair for an expression.
 */
export function attach(
  s: MagicString,
  unit: Unit,
  statement: (ref: string) => string,
  inPlace: [string, string],
): void {
  const b = unit.binding;
  if (b.kind === "statement") {
    s.appendLeft(b.statementEnd, `\n${statement(b.ref)}`);
  } else if (b.kind === "expression") {
    s.prependRight(unit.start, inPlace[0]);
    s.appendLeft(unit.end, inPlace[1]);
  } else if (b.kind === "object-method") {
    // `async m(a) { … }` becomes `m: wrap(async function m(a) { … })`: a method cannot be wrapped in a call.
    const fnName = isIdentifierName(b.keyText) ? ` ${b.keyText}` : "";
    s.overwrite(
      unit.start,
      unit.bodyStart,
      `${b.keyText}: ${inPlace[0]}async function${fnName}(${unit.paramsText}) `,
    );
    s.appendLeft(unit.end, inPlace[1]);
  }
}

/** Replaces everything inside a function body's braces. */
export function replaceBody(s: MagicString, unit: Unit, code: string): void {
  if (unit.expressionBody) s.overwrite(unit.bodyStart, unit.bodyEnd, `{ ${code} }`);
  else s.overwrite(unit.bodyStart + 1, unit.bodyEnd - 1, ` ${code} `);
}
