/**
 * The folders that `compilerOptions.paths` aliases point to, so discovery also finds directive files that
 * the project reaches through an alias (often a shared folder outside the project). Bundling does not need
 * this: esbuild applies `paths` itself.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

interface RawTsconfig {
  extends?: string | string[];
  compilerOptions?: { baseUrl?: string; paths?: Record<string, string[]> };
}

/** Absolute folders (or files) named by the `paths` targets of `tsconfigFile` and what it extends. */
export function pathAliasTargets(tsconfigFile: string): string[] {
  const found = resolvePaths(tsconfigFile, new Set());
  if (!found) return [];
  const base = found.baseUrl ?? found.pathsDir;
  const targets = new Set<string>();
  for (const list of Object.values(found.paths)) {
    for (const target of list) {
      // Everything before the first wildcard is a fixed folder; `./src/*` → `./src`.
      const star = target.indexOf("*");
      const fixed = star === -1 ? target : path.dirname(target.slice(0, star + 1));
      targets.add(path.resolve(base, fixed));
    }
  }
  return [...targets];
}

interface FoundPaths {
  paths: Record<string, string[]>;
  /** Folder of the tsconfig that declared `paths` (targets are relative to it when there is no baseUrl). */
  pathsDir: string;
  baseUrl?: string;
}

function resolvePaths(file: string, seen: Set<string>): FoundPaths | undefined {
  if (seen.has(file) || !existsSync(file)) return undefined;
  seen.add(file);
  const config = readJsonc(file) as RawTsconfig | undefined;
  if (!config) return undefined;
  const dir = path.dirname(file);
  // Later `extends` entries win, and the file's own options win over all of them.
  let inherited: FoundPaths | undefined;
  const parents =
    config.extends === undefined ? [] : Array.isArray(config.extends) ? config.extends : [config.extends];
  for (const parent of parents) {
    const parentFile = resolveExtends(parent, dir);
    const found = parentFile ? resolvePaths(parentFile, seen) : undefined;
    if (found) inherited = { ...inherited, ...found };
  }
  const options = config.compilerOptions ?? {};
  const baseUrl = options.baseUrl !== undefined ? path.resolve(dir, options.baseUrl) : inherited?.baseUrl;
  if (options.paths) return { paths: options.paths, pathsDir: dir, ...(baseUrl ? { baseUrl } : {}) };
  if (!inherited) return undefined;
  return { ...inherited, ...(baseUrl ? { baseUrl } : {}) };
}

function resolveExtends(spec: string, dir: string): string | undefined {
  if (spec.startsWith(".") || path.isAbsolute(spec)) {
    const file = path.resolve(dir, spec);
    return existsSync(file) || file.endsWith(".json") ? file : `${file}.json`;
  }
  try {
    return createRequire(path.join(dir, "noop.js")).resolve(spec);
  } catch {
    return undefined; // a missing shared config is the type checker's error to report, not ours
  }
}

/**
 * tsconfig files allow comments and trailing commas. Stripping them and using `JSON.parse` is enough here
 * and avoids loading TypeScript (megabytes, on every dev rebuild) for one field.
 */
export function readJsonc(file: string): unknown {
  try {
    return JSON.parse(stripJsonc(readFileSync(file, "utf8")));
  } catch {
    return undefined;
  }
}

export function stripJsonc(text: string): string {
  return removeTrailingCommas(removeComments(text));
}

/** Index just past the JSON string starting at `i`. */
function stringEnd(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
  return j + 1;
}

function removeComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (c === "/" && text[i + 1] === "/") {
      const nl = text.indexOf("\n", i);
      i = nl === -1 ? text.length : nl;
    } else if (c === "/" && text[i + 1] === "*") {
      const close = text.indexOf("*/", i + 2);
      i = close === -1 ? text.length : close + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function removeTrailingCommas(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
      continue;
    }
    if (c === ",") {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] === "}" || text[j] === "]") {
        i++;
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}
