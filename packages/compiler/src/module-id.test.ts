import { describe, expect, it } from "vitest";
import { moduleSpecifier, stepId, workflowId } from "./module-id.js";

describe("moduleSpecifier", () => {
  it("is the POSIX path relative to the project root, without extension, with a leading ./", () => {
    expect(moduleSpecifier("/app/src/order.ts", "/app")).toBe("./src/order");
    expect(moduleSpecifier("src/order.test.tsx", "/app")).toBe("./src/order.test");
  });
  it("uses the package name and subpath inside node_modules", () => {
    expect(moduleSpecifier("/app/node_modules/some-pkg/dist/steps.js", "/app")).toBe("some-pkg/dist/steps");
    expect(moduleSpecifier("/app/node_modules/a/node_modules/@s/p/x.mjs", "/app")).toBe("@s/p/x");
  });
  it("builds IDs in the DESIGN §3 shape", () => {
    expect(workflowId("./src/order", "checkout")).toBe("workflow//./src/order//checkout");
    expect(stepId("./src/order", "checkout/notify")).toBe("step//./src/order//checkout/notify");
  });
});
