import { afterEach, describe, expect, it } from "vitest";
import { mockStep, restoreStepMocks } from "./mock-step.js";

const registry = () =>
  (globalThis as unknown as Record<symbol, Map<string, unknown>>)[Symbol.for("wfkit.steps")]!;

async function charge(amount: number): Promise<string> {
  return `real:${amount}`;
}
Object.assign(charge, { stepId: "step//./billing//charge", maxRetries: 7 });

afterEach(() => restoreStepMocks());

describe("mockStep", () => {
  it("replaces the registered step by its ID, keeps its options, records calls, and restores it", async () => {
    (globalThis as unknown as Record<symbol, Map<string, unknown>>)[Symbol.for("wfkit.steps")] ??= new Map();
    registry().set("step//./billing//charge", charge);
    const mock = mockStep(charge, async (amount) => `mock:${amount}`);
    const registered = registry().get("step//./billing//charge") as typeof charge & { maxRetries: number };
    expect(registered).not.toBe(charge);
    expect(await registered(5)).toBe("mock:5");
    expect(registered.maxRetries).toBe(7);
    expect(mock.calls).toEqual([[5]]);
    mock.restore();
    expect(registry().get("step//./billing//charge")).toBe(charge);
  });

  it("a second mock of the same step replaces the first; restoreStepMocks() undoes all", () => {
    registry().set("step//./billing//charge", charge);
    mockStep(charge, async () => "one");
    const second = mockStep(charge, async () => "two");
    expect(second.stepId).toBe("step//./billing//charge");
    restoreStepMocks();
    expect(registry().get("step//./billing//charge")).toBe(charge);
  });

  it("refuses a function that is not a compiled step", () => {
    expect(() =>
      mockStep(
        async () => 1,
        async () => 2,
      ),
    ).toThrow(/must be a "use step" function/);
  });
});
