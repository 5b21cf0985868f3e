/**
 * Builds the sandbox bundle for one workflow file: esbuild follows its imports, every file that declares
 * directives goes through the compiler in workflow mode (step bodies become proxies, step-only imports
 * vanish), and the result is one script that registers the file's workflows in the sandbox realm.
 * Bundles are cached in memory and on disk, keyed by the file and checked against its inputs' mtimes.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import path from "node:path";
import { transform } from "@wfkit/compiler";
import { type Plugin, build } from "esbuild";

export interface WorkflowBundle {
  code: string;
  filename: string;
  sourceMap?: string;
}

interface CacheEntry extends WorkflowBundle {
  inputs: Record<string, { mtimeMs: number; size: number }>;
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const DIRECTIVE_HINT = /use (workflow|step)/;

function workflowModePlugin(projectRoot: string): Plugin {
  return {
    name: "wfkit-workflow-mode",
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (!BUILTINS.has(args.path)) return undefined;
        return {
          errors: [
            {
              text:
                `The Node.js built-in "${args.path}" is imported by ${path.relative(projectRoot, args.importer)}, ` +
                "which is part of workflow code. Workflow code runs in a deterministic sandbox without Node APIs: " +
                'move the code that needs it into a function marked "use step".',
            },
          ],
        };
      });
      b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        const source = await readFile(args.path, "utf8");
        if (!DIRECTIVE_HINT.test(source)) return undefined;
        const out = transform(source, { filename: args.path, projectRoot, mode: "workflow", sourceMaps: true });
        const errors = out.diagnostics.filter((d) => d.severity === "error");
        const ext = path.extname(args.path).slice(1);
        const isTs = /^[cm]?tsx?$/.test(ext);
        const loader = isTs ? (ext.endsWith("x") ? "tsx" : "ts") : ext.endsWith("x") ? "jsx" : "js";
        const map = out.map ? (typeof out.map === "string" ? out.map : JSON.stringify(out.map)) : undefined;
        const contents = map
          ? `${out.code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(map).toString("base64")}`
          : out.code;
        return {
          contents,
          loader,
          errors: errors.map((d) => ({
            text: `${d.code} ${d.message} (hint: ${d.hint})`,
            location: { file: d.file, line: d.line, column: d.column },
          })),
        };
      });
    },
  };
}

export class WorkflowBundler {
  private readonly memory = new Map<string, CacheEntry>();
  private readonly cacheDir: string;

  constructor(private readonly projectRoot: string, cacheDir?: string) {
    this.cacheDir = cacheDir ?? path.join(projectRoot, "node_modules", ".cache", "wfkit", "workflow-bundles");
  }

  async bundle(entryFile: string): Promise<WorkflowBundle> {
    const cached = this.memory.get(entryFile) ?? this.readDisk(entryFile);
    if (cached && this.fresh(cached)) {
      this.memory.set(entryFile, cached);
      return cached;
    }
    const result = await build({
      entryPoints: [entryFile],
      bundle: true,
      write: false,
      format: "iife",
      platform: "neutral",
      target: "es2022",
      mainFields: ["module", "main"],
      conditions: ["workflow", "import", "default"],
      sourcemap: "external",
      outfile: path.join(this.cacheDir, "bundle.js"),
      metafile: true,
      logLevel: "silent",
      plugins: [workflowModePlugin(this.projectRoot)],
    });
    const code = result.outputFiles.find((f) => f.path.endsWith(".js"))!.text;
    const sourceMap = result.outputFiles.find((f) => f.path.endsWith(".map"))?.text;
    const inputs: CacheEntry["inputs"] = {};
    for (const input of Object.keys(result.metafile.inputs)) {
      const abs = path.resolve(process.cwd(), input);
      const st = statSync(abs, { throwIfNoEntry: false });
      if (st) inputs[abs] = { mtimeMs: st.mtimeMs, size: st.size };
    }
    const entry: CacheEntry = { code, filename: entryFile, sourceMap, inputs };
    this.memory.set(entryFile, entry);
    this.writeDisk(entryFile, entry);
    return entry;
  }

  private fresh(entry: CacheEntry): boolean {
    for (const [file, seen] of Object.entries(entry.inputs)) {
      const st = statSync(file, { throwIfNoEntry: false });
      if (!st || st.mtimeMs !== seen.mtimeMs || st.size !== seen.size) return false;
    }
    return true;
  }

  private diskPath(entryFile: string): string {
    const key = createHash("sha256").update(entryFile).digest("hex").slice(0, 24);
    return path.join(this.cacheDir, `${key}.json`);
  }

  private readDisk(entryFile: string): CacheEntry | undefined {
    const file = this.diskPath(entryFile);
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, "utf8")) as CacheEntry;
    } catch {
      return undefined; // a torn cache file is just a miss
    }
  }

  private writeDisk(entryFile: string, entry: CacheEntry): void {
    try {
      mkdirSync(this.cacheDir, { recursive: true });
      const file = this.diskPath(entryFile);
      // write then rename (atomic), so a concurrent reader never sees half a file
      writeFileSync(`${file}.tmp`, JSON.stringify(entry));
      renameSync(`${file}.tmp`, file);
    } catch {
      // the disk cache is an optimisation; a read-only project still works
    }
  }
}
