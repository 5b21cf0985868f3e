/**
 * Compiling the workflow bundle to a `vm.Script`, once per process.
 *
 * The bundle is compiled as a strict function of the per-run bindings (`RUN_SCOPE_NAMES`: `globalThis` and
 * `process`); the shared realm evaluates it once into that function, and each run calls it with its own values
 * (sandbox.ts), which gives the run a fresh copy of every module-level binding of the bundle. Every dynamic
 * `import(` of the bundle is rewritten first (dynamic-import.ts). The cache is keyed by a content hash so a rebuilt
 * bundle (dev server, hot reload) gets a new Script while an unchanged one is never recompiled; it is bounded so
 * a long dev session does not keep every old bundle alive.
 */
import { createHash } from "node:crypto";
import * as vm from "node:vm";
import { withoutDynamicImport } from "./dynamic-import.js";
import { findSourceMap, registerSourceMap, unregisterSourceMap } from "./source-maps.js";

/**
 * The names a workflow bundle's code sees as per-run bindings, in the order `Sandbox.run` passes their values.
 * Everything else that depends on the run (Date, Math.random, crypto, console …) is a global of the shared realm
 * that reads the current run (realm-install.ts).
 */
export const RUN_SCOPE_NAMES = ["globalThis", "process"] as const;

/** Scripts made here: the only ones `Sandbox.run` accepts, since only they evaluate to a run function. */
export const bundleScripts = new WeakSet<vm.Script>();

/**
 * Wraps code as a strict function of the run's bindings. The header is a line of its own and compiled with
 * `lineOffset: -1`, so stack lines (and the source map) keep the bundle's own line numbers.
 */
export function compileRunFunction(code: string, filename: string): vm.Script {
  const script = new vm.Script(
    `(function (${RUN_SCOPE_NAMES.join(", ")}) {"use strict";\n${withoutDynamicImport(code)}\n})`,
    {
      filename,
      lineOffset: -1,
    },
  );
  bundleScripts.add(script);
  return script;
}

export interface CompileWorkflowBundleOptions {
  /** Name shown in stacks; use the bundle's real path so relative `sources` of its map resolve correctly. */
  filename: string;
  /** The bundle's source map (JSON string or object). Default: the inline `data:` map at the end of `code`, or
   *  the `sourceMappingURL` file next to `filename`. */
  sourceMap?: string | object;
}

const MAX_CACHED_BUNDLES = 16;

interface Cached {
  script: vm.Script;
  filename: string;
}

const cache = new Map<string, Cached>();
// The engine typically passes the very same string for every run; comparing it by identity first skips hashing a
// multi-megabyte bundle per run (equal string references compare in O(1)).
let last: { code: string; filename: string; sourceMap: unknown; script: vm.Script } | undefined;

export function compileWorkflowBundle(code: string, opts: CompileWorkflowBundleOptions): vm.Script {
  if (typeof code !== "string") {
    throw new TypeError(
      `compileWorkflowBundle: code must be the bundle's source text (a string), got ${typeof code}`,
    );
  }
  if (!opts || typeof opts.filename !== "string" || opts.filename === "") {
    throw new TypeError(
      "compileWorkflowBundle: opts.filename is required (the bundle's path, used in stacks and to resolve its source map)",
    );
  }
  const { filename } = opts;
  if (last && last.code === code && last.filename === filename && last.sourceMap === opts.sourceMap) {
    return last.script;
  }

  const key = createHash("sha256").update(filename).update("\0").update(code).digest("base64url");
  let hit = cache.get(key);
  if (hit) {
    // Refresh recency: Map iteration order is insertion order, so re-inserting makes eviction LRU.
    cache.delete(key);
    cache.set(key, hit);
  } else {
    const script = compileRunFunction(code, filename);
    hit = { script, filename };
    cache.set(key, hit);
    if (cache.size > MAX_CACHED_BUNDLES) {
      const [oldestKey, oldest] = cache.entries().next().value as [string, Cached];
      cache.delete(oldestKey);
      if (![...cache.values()].some((c) => c.filename === oldest.filename))
        unregisterSourceMap(oldest.filename);
    }
  }
  // Registered on every compile (cheap: the map is only decoded when a stack is mapped) so the map always matches
  // the most recent bundle compiled under this file name.
  const map = findSourceMap(code, filename, opts.sourceMap);
  if (map !== undefined) registerSourceMap(filename, map);
  else unregisterSourceMap(filename);
  last = { code, filename, sourceMap: opts.sourceMap, script: hit.script };
  return hit.script;
}
