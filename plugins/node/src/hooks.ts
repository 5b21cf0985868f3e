/**
 * Node.js module hooks (run on Node's loader thread; see `module.register`). They let a plain
 * `node --import workflow/register app.ts` run TypeScript and directive files with no build step:
 * - resolve: TypeScript's import conventions (`./x.js` naming `./x.ts`, extensionless `./x`);
 * - load: the directive compiler in client mode for application imports, in step mode for URLs that carry
 *   `?wfkit=step` (how the runtime loads a file's step implementations), and type stripping.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { needsTranspile, transpileModule } from "./transpile.js";

export const STEP_QUERY = "wfkit=step";

let projectRoot = process.cwd();

/**
 * Our own packages mention the directive strings in messages; they are never user code, so skip them
 * rather than parse them on every start.
 */
const OWN_PACKAGES = [
  "@wfkit/compiler",
  "@wfkit/core",
  "@wfkit/world",
  "@wfkit/world-local",
  "@wfkit/node",
  "workflow",
]
  .map((name) => {
    try {
      const file = fileURLToPath(import.meta.resolve(name));
      const dist = file.lastIndexOf(`${path.sep}dist${path.sep}`);
      return dist === -1 ? undefined : file.slice(0, dist + 1);
    } catch {
      return undefined;
    }
  })
  .filter((dir): dir is string => dir !== undefined);

export function initialize(data: { projectRoot?: string } | undefined): void {
  if (data?.projectRoot) projectRoot = data.projectRoot;
}

type ResolveContext = { parentURL?: string; conditions: string[]; importAttributes?: Record<string, string> };
type ResolveResult = { url: string; format?: string | null; shortCircuit?: boolean };
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<ResolveResult>;

const TS_FOR_JS: Record<string, string[]> = { ".js": [".ts", ".tsx"], ".mjs": [".mts"], ".jsx": [".tsx"] };

export async function resolve(
  specifier: string,
  context: ResolveContext,
  next: NextResolve,
): Promise<ResolveResult> {
  try {
    return await next(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("file:");
    if (!relative || !context.parentURL?.startsWith("file:")) throw error;
    const ext = /\.[cm]?jsx?$/.exec(specifier)?.[0];
    const candidates = ext
      ? (TS_FOR_JS[ext] ?? []).map((tsExt) => specifier.slice(0, -ext.length) + tsExt)
      : [".ts", ".tsx", ".mts", ".js", "/index.ts", "/index.js"].map((suffix) => specifier + suffix);
    for (const candidate of candidates) {
      try {
        return await next(candidate, context);
      } catch {
        // try the next candidate; the original error is the one worth reporting
      }
    }
    throw error;
  }
}

type LoadContext = {
  format?: string | null;
  conditions: string[];
  importAttributes?: Record<string, string>;
};
type LoadResult = {
  format: string;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
};
type NextLoad = (url: string, context?: LoadContext) => Promise<LoadResult>;

export async function load(url: string, context: LoadContext, next: NextLoad): Promise<LoadResult> {
  if (!url.startsWith("file:")) return next(url, context);
  const parsed = new URL(url);
  const filename = fileURLToPath(parsed);
  const mode = parsed.search.includes(STEP_QUERY) ? "step" : "client";
  if (/\.(c|m)?tsx?$/.test(filename)) {
    if (filename.endsWith(".cts")) return next(url, context);
    const source = await readFile(filename, "utf8");
    return {
      format: "module",
      source: transpileModule(source, filename, projectRoot, mode).code,
      shortCircuit: true,
    };
  }
  if (OWN_PACKAGES.some((dir) => filename.startsWith(dir))) return next(url, context);
  const loaded = await next(url, context);
  if (loaded.format !== "module" || loaded.source == null) return loaded;
  const source = typeof loaded.source === "string" ? loaded.source : new TextDecoder().decode(loaded.source);
  if (!needsTranspile(filename, source)) return loaded;
  return {
    format: "module",
    source: transpileModule(source, filename, projectRoot, mode).code,
    shortCircuit: true,
  };
}
