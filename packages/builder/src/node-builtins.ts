import { builtinModules } from "node:module";

const BUILTINS: ReadonlySet<string> = new Set(builtinModules);

/**
 * True for `fs`, `fs/promises`, `node:fs`, and `node:`-only modules (`node:test`, `node:sqlite`) that
 * `builtinModules` does not list without the prefix.
 */
export function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith("node:")) return true;
  return BUILTINS.has(specifier);
}
