/**
 * Display names of workflow, step and class IDs (`workflow//<module>//<function>`, DESIGN §3), under WDK's names
 * (`parseWorkflowName`, `parseStepName`, `parseClassName`).
 */

export interface ParsedName {
  /** What to show: the last segment of the function name (`chargeCard` for `processOrder/chargeCard`). */
  shortName: string;
  /** The module the function is defined in, as the ID names it (a path relative to the project, or a package). */
  moduleSpecifier: string;
  /** The function name as recorded by the compiler, nesting included. */
  functionName: string;
}

function parse(kind: string, name: unknown): ParsedName | null {
  if (typeof name !== "string") return null;
  const prefix = `${kind}//`;
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  const at = rest.lastIndexOf("//");
  if (at <= 0 || at === rest.length - 2) return null;
  const moduleSpecifier = rest.slice(0, at);
  const functionName = rest.slice(at + 2);
  const last = functionName.split("/").at(-1)!;
  // A default export is named after its module, as WDK shows it.
  const shortName =
    last === "default"
      ? moduleSpecifier
          .split("/")
          .at(-1)!
          .replace(/\.[^.]+$/, "")
      : last;
  return { shortName, moduleSpecifier, functionName };
}

export function parseWorkflowName(name: string): ParsedName | null {
  return parse("workflow", name);
}

export function parseStepName(name: string): ParsedName | null {
  return parse("step", name);
}

/** Class IDs are `class//<module>//<name>` when the compiler made them; a registered ID is its own short name. */
export function parseClassName(name: string): ParsedName | null {
  return parse("class", name);
}

/** The short name of any ID, or the ID itself when it has no known shape. */
export function shortNameOf(id: string): string {
  return (parseWorkflowName(id) ?? parseStepName(id) ?? parseClassName(id))?.shortName ?? id;
}
