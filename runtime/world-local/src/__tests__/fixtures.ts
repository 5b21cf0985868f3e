/**
 * What the local world's test files share: temporary data directories and worlds that are removed and closed
 * after each test, console reports captured instead of printed, and the refusal a call ended with.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isWorldError, type World, type WorldError } from "@wfkit/world";
import { afterEach, beforeEach, type MockInstance, vi } from "vitest";
import { createLocalWorld, type LocalWorldOptions } from "../local-world.js";

export interface TempWorlds {
  tempDir(): string;
  /** A world on `dataDir`, closed after the test. */
  open(dataDir: string, opts?: Omit<LocalWorldOptions, "dataDir">): World;
}

/**
 * Registers the clean-up of the calling test file. `beforeRemove` runs on each directory first (a test that made
 * it read-only gives its permissions back).
 */
export function useTempWorlds(
  prefix: string,
  defaults: Omit<LocalWorldOptions, "dataDir"> = {},
  beforeRemove?: (dir: string) => void,
): TempWorlds {
  const dirs: string[] = [];
  const worlds: World[] = [];
  afterEach(async () => {
    for (const w of worlds.splice(0)) await w.close();
    for (const d of dirs.splice(0)) {
      beforeRemove?.(d);
      rmSync(d, { recursive: true, force: true });
    }
  });
  return {
    tempDir() {
      const dir = mkdtempSync(join(tmpdir(), `wfkit-${prefix}-`));
      dirs.push(dir);
      return dir;
    },
    open(dataDir, opts = {}) {
      const w = createLocalWorld({ ...defaults, ...opts, dataDir });
      worlds.push(w);
      return w;
    },
  };
}

/** Captures `console.error` (where the world reports damage) for each test of the calling file. */
export function captureConsoleError(): { readonly spy: MockInstance<typeof console.error> } {
  const holder = {} as { spy: MockInstance<typeof console.error> };
  beforeEach(() => {
    holder.spy = vi.spyOn(console, "error").mockImplementation(() => {});
  });
  afterEach(() => holder.spy.mockRestore());
  return holder;
}

/** The `WorldError` the call was refused with (any other outcome fails the test). */
export async function errorOf(p: Promise<unknown>): Promise<WorldError> {
  try {
    await p;
  } catch (e) {
    if (isWorldError(e)) return e;
    throw e;
  }
  throw new Error("expected the call to be refused with a WorldError");
}
