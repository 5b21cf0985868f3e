// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are source code of test projects
import { readFileSync } from "node:fs";
import path from "node:path";
import { transform } from "@wfkit/compiler";
import { afterAll, describe, expect, it } from "vitest";
import { makeProject, removeProjects } from "./__tests__/project.js";
import type { CompiledModule } from "./compile-plugin.js";
import { contentHash, createManifest, writeManifest } from "./manifest.js";
import { sequenceFingerprint } from "./step-sequence.js";

afterAll(removeProjects);

const ROOT = "/project";

function compiled(file: string, source: string): CompiledModule {
  const out = transform(source, {
    filename: path.join(ROOT, file),
    projectRoot: ROOT,
    mode: "workflow",
    sourceMaps: false,
  });
  return { file: path.join(ROOT, file), source, workflows: out.workflows, steps: out.steps };
}

const source = (chargeBody: string, refundBody = "return 0;") =>
  [
    "// prices in cents",
    "export async function charge(amount: number) {",
    '  "use step";',
    `  ${chargeBody}`,
    "}",
    "",
    "export const refund = async (amount: number) => {",
    '  "use step";',
    `  ${refundBody}`,
    "};",
    "",
    "export async function checkout(amount: number) {",
    '  "use workflow";',
    "  return charge(amount);",
    "}",
    "",
  ].join("\n");

describe("createManifest", () => {
  it("records each workflow's step sequence and its fingerprint", () => {
    const manifest = createManifest({
      projectRoot: ROOT,
      modules: [compiled("src/order.ts", source("return amount;"))],
    });
    const checkout = manifest.workflows["workflow//src/order.ts//checkout"]!;
    expect(checkout.stepSequence).toEqual(["step//src/order.ts//charge"]);
    expect(checkout.fingerprint).toBe(sequenceFingerprint(["step//src/order.ts//charge"]));
  });

  it("lists every workflow and step with its project-relative file, location and hash", () => {
    const manifest = createManifest({
      projectRoot: ROOT,
      modules: [compiled("src/order.ts", source("return amount;"))],
    });
    expect(manifest.version).toBe(1);
    expect(Object.keys(manifest.workflows)).toEqual(["workflow//src/order.ts//checkout"]);
    expect(Object.keys(manifest.steps)).toEqual(["step//src/order.ts//charge", "step//src/order.ts//refund"]);
    expect(manifest.steps["step//src/order.ts//charge"]).toEqual({
      name: "charge",
      file: "src/order.ts",
      line: 2,
      column: 7,
      hash: contentHash('async function charge(amount: number) {\n  "use step";\n  return amount;\n}'),
    });
    expect(manifest.steps["step//src/order.ts//refund"]!.hash).toBe(
      contentHash('async (amount: number) => {\n  "use step";\n  return 0;\n}'),
    );
  });

  it("changes a function's hash when its body changes, and no other hash", () => {
    const before = createManifest({
      projectRoot: ROOT,
      modules: [compiled("src/order.ts", source("return amount;"))],
    });
    const after = createManifest({
      projectRoot: ROOT,
      modules: [compiled("src/order.ts", source("return amount * 2;"))],
    });
    expect(after.steps["step//src/order.ts//charge"]!.hash).not.toBe(
      before.steps["step//src/order.ts//charge"]!.hash,
    );
    expect(after.steps["step//src/order.ts//refund"]).toEqual(before.steps["step//src/order.ts//refund"]);
    expect(after.workflows).toEqual(before.workflows);
  });

  it("hashes the right text after non-ASCII characters and for methods", () => {
    const text = [
      'const greeting = "héllo 👋";',
      "export class Billing {",
      "  static async invoice(id: string) {",
      '    "use step";',
      "    return `${greeting} ${id}`;",
      "  }",
      "}",
      "",
    ].join("\n");
    const manifest = createManifest({ projectRoot: ROOT, modules: [compiled("src/billing.ts", text)] });
    const entries = Object.values(manifest.steps);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.hash).toBe(
      contentHash(
        'static async invoice(id: string) {\n    "use step";\n    return `${greeting} ${id}`;\n  }',
      ),
    );
  });

  it("writes manifest.json that reads back the same", () => {
    const dir = makeProject({});
    const manifest = createManifest({
      projectRoot: ROOT,
      modules: [compiled("src/order.ts", source("return 1;"))],
    });
    const file = writeManifest(path.join(dir, ".workflow"), manifest);
    expect(file).toBe(path.join(dir, ".workflow", "manifest.json"));
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(manifest);
  });
});
