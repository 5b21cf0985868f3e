/**
 * Flow gates of the local world (`FlowGateWorld`): one small JSON file per gate under `<dataDir>/gates/`, named by
 * the hash of the gate ID (IDs can be longer than a file name may be). Every process that opens the directory may
 * change a gate, so each change happens under a lock file (`gates/.lock`, created with O_EXCL): read, compute,
 * write a temporary file and rename it over the gate (a reader never sees half a file). The lock is held for a
 * few synchronous file operations only; a lock left by a process killed while holding it is broken once it is
 * older than `STALE_LOCK_MS` (two processes breaking the same stale lock at the same moment could both proceed
 * once; that needs a process killed inside the few microseconds it holds the lock). A lock file rather than a
 * dependency such as proper-lockfile: it is a dozen lines, and the world has no dependencies besides the contract.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { checkFlowGateId, type FlowGateRecord, type FlowGateUpdate, type FlowGateWorld } from "@wfkit/world";

const STALE_LOCK_MS = 2_000;

export class FlowGateFiles implements FlowGateWorld {
  private readonly lockPath: string;
  private counter = 0;

  constructor(private readonly dir: string) {
    this.lockPath = join(dir, ".lock");
  }

  private fileOf(gateId: string): string {
    return join(this.dir, `${createHash("sha256").update(gateId).digest("base64url")}.json`);
  }

  private readFile(path: string): FlowGateRecord | undefined {
    try {
      return JSON.parse(readFileSync(path, "utf8")) as FlowGateRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async readFlowGate(gateId: string): Promise<FlowGateRecord | undefined> {
    checkFlowGateId(gateId);
    return this.readFile(this.fileOf(gateId));
  }

  async updateFlowGate<T>(gateId: string, update: FlowGateUpdate<T>): Promise<T> {
    checkFlowGateId(gateId);
    mkdirSync(this.dir, { recursive: true });
    await this.lock();
    try {
      const path = this.fileOf(gateId);
      const current = this.readFile(path);
      const next = update(current?.state);
      if (next.state === current?.state) return next.result;
      if (next.state === undefined) {
        unlinkSync(path);
      } else {
        const record: FlowGateRecord = {
          gateId,
          state: next.state,
          version: (current?.version ?? 0) + 1,
          updatedAt: Date.now(),
        };
        const tmp = `${path}.${process.pid}.${this.counter++}.tmp`;
        writeFileSync(tmp, JSON.stringify(record));
        renameSync(tmp, path);
      }
      return next.result;
    } finally {
      this.unlock();
    }
  }

  async listFlowGates(limit = 1_000): Promise<string[]> {
    let files: string[];
    try {
      files = readdirSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const ids: string[] = [];
    for (const file of files) {
      if (!file.endsWith(".json")) continue;
      const record = this.readFile(join(this.dir, file));
      if (record) ids.push(record.gateId);
    }
    return ids.sort().slice(0, limit);
  }

  private async lock(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        closeSync(openSync(this.lockPath, "wx"));
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      try {
        if (Date.now() - statSync(this.lockPath).mtimeMs > STALE_LOCK_MS) unlinkSync(this.lockPath);
      } catch {
        // Released (or broken by another process) in between: try again.
      }
      await new Promise((r) => setTimeout(r, Math.min(20, 1 + attempt)));
    }
  }

  private unlock(): void {
    try {
      unlinkSync(this.lockPath);
    } catch {
      // Broken as stale by another process: nothing left to release.
    }
  }
}
