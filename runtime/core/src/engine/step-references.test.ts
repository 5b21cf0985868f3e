import { describe, expect, it } from "vitest";
import { deserialize, serialize } from "../serialization/index.js";
import { STEP_FUNCTION_TAG } from "./step-references.js";

const STEPS_KEY = Symbol.for("wfkit.steps");

describe("step functions as values", () => {
  it("cross as a reference and revive in host code as a function running the registered step", async () => {
    const id = "step//src/math.ts//double";
    const g = globalThis as Record<symbol, Map<string, unknown>>;
    g[STEPS_KEY] ??= new Map();
    const registry = g[STEPS_KEY];
    registry.set(id, async (x: number) => x * 2);
    const step = Object.assign(async () => 0, { stepId: id });
    const wire = serialize({ fn: step }, { path: "args" });
    expect(wire).toContain(STEP_FUNCTION_TAG);
    const { fn } = deserialize(wire) as { fn: ((x: number) => Promise<number>) & { stepId: string } };
    expect(fn.stepId).toBe(id);
    await expect(fn(21)).resolves.toBe(42);
    registry.delete(id);
    await expect(fn(1)).rejects.toThrow(/not registered/);
  });

  it("leave other functions refused, with the path", () => {
    expect(() => serialize({ fn: () => 1 }, { path: "args" })).toThrow(/args\.fn/);
  });
});
