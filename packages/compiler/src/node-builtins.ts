import { builtinModules } from "node:module";

const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** `fs`, `node:fs`, `fs/promises`, `node:test` (prefix-only modules) … */
export function isNodeBuiltin(specifier: string): boolean {
  return BUILTINS.has(specifier) || specifier.startsWith("node:");
}
