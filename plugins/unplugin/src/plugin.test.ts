import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { UnpluginOptions } from "unplugin";
import { afterAll, describe, expect, it } from "vitest";
import { unpluginFactory } from "./plugin.js";

const root = mkdtempSync(path.join(tmpdir(), "wfkit-unplugin-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(path.join(root, "src"));
const source = 'export async function add(a: number) {\n  "use step";\n  return a + 1;\n}\n';
writeFileSync(path.join(root, "src/add.ts"), source);
writeFileSync(path.join(root, "package.json"), '{"name":"unplugin-unit","type":"module"}');

type Hooks = UnpluginOptions & {
  buildStart(this: unknown): Promise<void>;
  transform(
    this: unknown,
    code: string,
    id: string,
    opts?: { ssr?: boolean },
  ): Promise<{ code: string } | null>;
};

function plugin(target?: "server" | "browser"): Hooks {
  return unpluginFactory({ projectRoot: root, ...(target ? { target } : {}) }, {
    framework: "rollup",
  } as never) as Hooks;
}

const ctx = {
  warn() {},
  error: (m: string) => {
    throw new Error(m);
  },
  addWatchFile() {},
};

describe("the workflow plugin", () => {
  it("gives server bundles the step shape plus the generated server entry", async () => {
    const p = plugin();
    await p.buildStart.call(ctx);
    const out = await p.transform.call(ctx, source, path.join(root, "src/add.ts"));
    expect(out?.code).toContain('.set("step//src/add.ts//add", add)');
    expect(out?.code).toContain(`import ${JSON.stringify(path.join(root, ".workflow/server-entry.mjs"))};`);
  });

  it("gives browser bundles (and Vite's non-SSR modules) the client shape with no runtime import", async () => {
    for (const [p, opts] of [
      [plugin("browser"), undefined],
      [plugin(), { ssr: false }],
    ] as const) {
      await p.buildStart.call(ctx);
      const out = await p.transform.call(ctx, source, path.join(root, "src/add.ts"), opts);
      expect(out?.code).toContain('add.stepId = "step//src/add.ts//add"');
      expect(out?.code).not.toContain("wfkit.steps");
      expect(out?.code).not.toContain("server-entry");
    }
  });

  it("leaves files without directives alone and reports compiler errors with the fix", async () => {
    const p = plugin();
    await p.buildStart.call(ctx);
    expect(await p.transform.call(ctx, "export const a = 1;", path.join(root, "src/x.ts"))).toBeNull();
    const bad = 'export function sync() {\n  "use step";\n  return 1;\n}\n';
    await expect(p.transform.call(ctx, bad, path.join(root, "src/bad.ts"))).rejects.toThrow(/src\/bad\.ts:2/);
  });
});
