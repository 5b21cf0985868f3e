import { existsSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { workflow } from "./plugin.js";
import { OPTIONS_ENV, resolveTestOptions } from "./setup-tests.js";

const context = {
  error(message: string): never {
    throw new Error(message);
  },
  warn() {},
};

const SOURCE = `export async function flow(n: number) {
  "use workflow";
  return double(n);
}
export async function double(n: number) {
  "use step";
  return n * 2;
}
`;

describe("workflow() Vitest plugin", () => {
  // config() also sets the options in this process's environment (for a globalSetup); no test may leak them.
  const before = process.env[OPTIONS_ENV];
  afterEach(() => {
    if (before === undefined) delete process.env[OPTIONS_ENV];
    else process.env[OPTIONS_ENV] = before;
  });

  it("adds its setup file and passes its options to the workers and to a globalSetup", () => {
    const [plugin] = workflow({ dataDir: "data" });
    const config = plugin!.config!({ root: "/project" }) as {
      test: { setupFiles: string[]; env: Record<string, string> };
    };
    expect(config.test.setupFiles).toHaveLength(1);
    expect(existsSync(config.test.setupFiles[0]!)).toBe(true);
    expect(JSON.parse(config.test.env[OPTIONS_ENV]!)).toEqual({ dataDir: "data", cwd: "/project" });
    // buildWorkflowTests() in a globalSetup (this process) resolves the plugin's folders.
    expect(resolveTestOptions()).toMatchObject({ cwd: "/project", dataDir: "/project/data" });
  });

  it("adds no setup file with autoSetup: false (manual setup)", () => {
    const [plugin] = workflow({ autoSetup: false });
    const config = plugin!.config!({ root: "/project" }) as { test: Record<string, unknown> };
    expect(config.test.setupFiles).toBeUndefined();
  });

  it("compiles directive files in step shape with IDs relative to the project, and leaves others alone", () => {
    const [plugin] = workflow();
    plugin!.config!({ root: "/project" });
    const out = plugin!.transform!.call(context, SOURCE, "/project/src/flow.ts?v=1");
    expect(out?.code).toContain('"step//src/flow.ts//double"');
    expect(out?.code).toContain('flow.workflowId = "workflow//src/flow.ts//flow"');
    expect(out?.code).toContain("return n * 2;");
    expect(plugin!.transform!.call(context, "export const x = 1;", "/project/src/x.ts")).toBeNull();
    expect(
      plugin!.transform!.call(context, SOURCE, `/project${path.sep}node_modules${path.sep}dep/index.ts`),
    ).toBeNull();
  });

  it("fails the import with the compiler's diagnostics", () => {
    const [plugin] = workflow();
    plugin!.config!({ root: "/project" });
    const bad = `export function notAsync() {\n  "use step";\n  return 1;\n}\n`;
    expect(() => plugin!.transform!.call(context, bad, "/project/src/bad.ts")).toThrow(
      /workflow compiler:\n\/project\/src\/bad.ts:/,
    );
  });
});
