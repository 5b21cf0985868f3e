import { describe, expect, it } from "vitest";
import { worldFromEnv } from "./world-selection.js";

describe("worldFromEnv", () => {
  it("opens the memory world", async () => {
    const world = await worldFromEnv({ WORKFLOW_TARGET_WORLD: "memory" });
    expect(world.name).toBe("memory");
    await world.close();
  });

  it("explains a target that cannot be loaded", async () => {
    await expect(worldFromEnv({ WORKFLOW_TARGET_WORLD: "./no-such-world.mjs" })).rejects.toThrow(
      /WORKFLOW_TARGET_WORLD="\.\/no-such-world\.mjs" could not be loaded/,
    );
  });
});
