/**
 * The sandbox bundle for one workflow file, built on demand by `@wfkit/builder` (workflow mode for every
 * directive file it reaches, Node built-ins refused with their import chain) and cached in memory and on
 * disk, keyed by the file and revalidated against its inputs' mtimes and sizes.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildWorkflowBundle } from "@wfkit/builder";

export interface WorkflowBundle {
  code: string;
  filename: string;
  sourceMap?: string;
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
    if (cached && this.fresh(cached)) {
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
    const entry: CacheEntry = { code: result.code, filename: entryFile, sourceMap: result.map, inputs };
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
