import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findProjectRoot, parseId, resolveModuleFile } from "./project.js";

const root = mkdtempSync(path.join(os.tmpdir(), "wf-project-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("IDs back to files", () => {
  it("splits workflow and step IDs, keeping nested names", () => {
    expect(parseId("workflow//src/order.ts//processOrder")).toEqual({
      kind: "workflow",
      modulePath: "src/order.ts",
      name: "processOrder",
    });
    expect(parseId("step//src/order.ts//processOrder/inner")).toMatchObject({
      kind: "step",
      name: "processOrder/inner",
    });
  });

  it("refuses strings that are not IDs with the expected shape in the message", () => {
    expect(() => parseId("processOrder")).toThrow(/IDs look like "workflow\/\/src\/file.ts\/\/name"/);
  });

  it("finds a module's file from the path in the ID, and from the earlier extension-less form", () => {
    mkdirSync(path.join(root, "src", "lib"), { recursive: true });
    writeFileSync(path.join(root, "package.json"), "{}");
    writeFileSync(path.join(root, "src", "order.ts"), "");
    writeFileSync(path.join(root, "src", "lib", "index.mjs"), "");
    expect(resolveModuleFile(root, "src/order.ts")).toBe(path.join(root, "src", "order.ts"));
    expect(resolveModuleFile(root, "./src/order")).toBe(path.join(root, "src", "order.ts"));
    expect(resolveModuleFile(root, "./src/lib")).toBe(path.join(root, "src", "lib", "index.mjs"));
  });

  it("says where it looked when a file was moved", () => {
    expect(() => resolveModuleFile(root, "./src/gone")).toThrow(
      /Cannot find the source of module "\.\/src\/gone"/,
    );
  });

  it("takes the nearest package.json folder as the project root", () => {
    const nested = path.join(root, "src", "lib");
    expect(findProjectRoot(nested)).toBe(root);
  });
});
