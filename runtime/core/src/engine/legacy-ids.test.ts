import { describe, expect, it } from "vitest";
import { currentIdPattern, isLegacyFunctionId, lookupFunction, sameFunctionId } from "./legacy-ids.js";

describe("IDs recorded before WDK's scheme", () => {
  it("match the current ID of the same function", () => {
    expect(sameFunctionId("workflow//./src/order//order", "workflow//src/order.ts//order")).toBe(true);
    expect(sameFunctionId("step//./src/order//order/charge", "step//src/order.tsx//order/charge")).toBe(true);
    expect(
      sameFunctionId("step//@acme/tools/dist/steps//vendor", "step//@acme/tools@1.2.3/dist/steps.js//vendor"),
    ).toBe(true);
    expect(isLegacyFunctionId("workflow//./src/order//order")).toBe(true);
    expect(isLegacyFunctionId("workflow//src/order.ts//order")).toBe(false);
  });

  it("match nothing else: another name, kind or module, or two current IDs that differ", () => {
    expect(sameFunctionId("workflow//./src/order//order", "workflow//src/order.ts//other")).toBe(false);
    expect(sameFunctionId("workflow//./src/order//order", "step//src/order.ts//order")).toBe(false);
    expect(sameFunctionId("workflow//./src/order//order", "workflow//lib/order.ts//order")).toBe(false);
    expect(sameFunctionId("workflow//src/order.ts//order", "workflow//src/order.js//order")).toBe(false);
  });

  it("find a registered function by its earlier ID", () => {
    const registry = new Map([["step//src/a.ts//s", 1]]);
    expect(lookupFunction(registry, "step//src/a.ts//s")).toBe(1);
    expect(lookupFunction(registry, "step//./src/a//s")).toBe(1);
    expect(lookupFunction(registry, "step//./src/b//s")).toBeUndefined();
  });

  it("find the current ID of an earlier-form ID in a bundle's text", () => {
    const bundle =
      'registry.set("workflow//src/order.ts//order", order); x("step//@a/b@1.0.0/dist/s.js//go")';
    expect(currentIdPattern("workflow//./src/order//order")?.test(bundle)).toBe(true);
    expect(currentIdPattern("step//@a/b/dist/s//go")?.test(bundle)).toBe(true);
    expect(currentIdPattern("workflow//./src/order//other")?.test(bundle)).toBe(false);
    expect(currentIdPattern("workflow//src/order.ts//order")).toBeUndefined();
  });
});
