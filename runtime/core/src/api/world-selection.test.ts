import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { worldFromEnv } from "./world-selection.js";

describe("worldFromEnv", () => {
  it("opens the memory world", async () => {
    const world = await worldFromEnv({ WORKFLOW_TARGET_WORLD: "memory" });
    expect(world.name).toBe("memory");
    await world.close();
  });

  it("opens the SQLite world at WORKFLOW_SQLITE_PATH of the environment it is given", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wfkit-select-"));
    try {
      const path = join(dir, "nested", "runs.db");
      const world = await worldFromEnv({ WORKFLOW_TARGET_WORLD: "sqlite", WORKFLOW_SQLITE_PATH: path });
      expect(world.name).toBe("sqlite");
      expect((world as { path?: string }).path).toBe(path);
      await world.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("explains a target that cannot be loaded", async () => {
    await expect(worldFromEnv({ WORKFLOW_TARGET_WORLD: "./no-such-world.mjs" })).rejects.toThrow(
      /WORKFLOW_TARGET_WORLD="\.\/no-such-world\.mjs" could not be loaded/,
    );
  });
});
