/**
 * The sandbox bundle for one workflow file, built on demand by `@wfkit/builder` (workflow mode for every
 * directive file it reaches, Node built-ins refused with their import chain) and cached in memory and on
 * disk, keyed by the file and revalidated against its inputs' mtimes and sizes.
 *
 * The bundle runs under a name of its own (`bundleFilename`), never the workflow file's path: the step module
 * of that same file runs in the host under the file's path, so a stack of a step that threw names it. Were the
 * bundle registered under that path too, the bundle's source map would be applied to the step's frames (already
 * mapped by Node) a second time, moving them to unrelated lines.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildWorkflowBundle, DEFAULT_WORKFLOW_BUNDLE_OUTFILE } from "@wfkit/builder";

export interface WorkflowBundle {
  code: string;
  /** The name the bundle runs under in the sandbox (see `bundleFilename`). */
  filename: string;
  sourceMap?: string;
}

/**
 * `<projectRoot>/.workflow/<entry path relative to the root, "/" as "~">.js`: a file that is never written, named
 * in stacks only for bundle code without a mapping. It sits in the folder of the builder's default outfile because
 * the map's relative `sources` are made against that folder, so they resolve to the real files.
 */
export function bundleFilename(projectRoot: string, entryFile: string): string {
  const relative = path.relative(projectRoot, entryFile).split(path.sep).join("~");
  return path.join(projectRoot, path.dirname(DEFAULT_WORKFLOW_BUNDLE_OUTFILE), `${relative}.js`);
}

interface CacheEntry extends WorkflowBundle {
  inputs: Record<string, { mtimeMs: number; size: number }>;
}

export class WorkflowBundler {
  private readonly memory = new Map<string, CacheEntry>();
  private readonly building = new Map<string, Promise<CacheEntry>>();
  private readonly cacheDir: string;

  constructor(
    private readonly projectRoot: string,
    cacheDir?: string,
  ) {
    this.cacheDir = cacheDir ?? path.join(projectRoot, "node_modules", ".cache", "wfkit", "workflow-bundles");
  }

  async bundle(entryFile: string): Promise<WorkflowBundle> {
    const cached = this.memory.get(entryFile) ?? this.readDisk(entryFile);
    // An entry cached by an older version may carry another name (the source file's own path).
    if (cached && cached.filename === bundleFilename(this.projectRoot, entryFile) && this.fresh(cached)) {
      this.memory.set(entryFile, cached);
      return cached;
    }
    // concurrent runs of the same workflow share one build
    let pending = this.building.get(entryFile);
    if (!pending) {
      pending = this.build(entryFile).finally(() => this.building.delete(entryFile));
      this.building.set(entryFile, pending);
    }
    return pending;
  }

  private async build(entryFile: string): Promise<CacheEntry> {
    const result = await buildWorkflowBundle({ projectRoot: this.projectRoot, entries: [entryFile] });
    const inputs: CacheEntry["inputs"] = {};
    for (const file of result.inputs) {
      const st = statSync(file, { throwIfNoEntry: false });
      if (st) inputs[file] = { mtimeMs: st.mtimeMs, size: st.size };
    }
    const filename = bundleFilename(this.projectRoot, entryFile);
    const entry: CacheEntry = { code: result.code, filename, sourceMap: result.map, inputs };
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
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(entry));
      renameSync(tmp, file);
    } catch {
      // the disk cache is an optimisation; a read-only project still works
    }
  }
}
