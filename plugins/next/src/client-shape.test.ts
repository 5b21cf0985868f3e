import { describe, expect, it } from "vitest";
import { clientShape } from "./client-shape.js";

const runtime = { root: "/app", outDir: ".workflow", dev: false, basePath: "" };
const options = (server: boolean) => ({ projectRoot: "/app", server, runtime });
const source = `export async function welcome(name: string) {
  "use workflow";
  return await greet(name);
}
async function greet(name: string) {
  "use step";
  return \`hello \${name}\`;
}
`;

describe("the loader's client shape", () => {
  it("gives workflows their ID and, in the server bundle, configures the runtime", () => {
    const out = clientShape(source, "/app/workflows/welcome.ts", options(true))!;
    expect(out.code).toContain("workflow//workflows/welcome.ts//welcome");
    expect(out.code).not.toContain("return await greet(name)");
    expect(out.code).toContain("cannot be called directly");
    expect(out.code).toContain('from "workflow/next"');
    expect(out.code).toContain(`__wfkitConfigureNext(${JSON.stringify(runtime)})`);
    expect(out.map).toBeTruthy();
  });

  it("adds no runtime import to browser bundles or CommonJS files", () => {
    expect(clientShape(source, "/app/workflows/welcome.ts", options(false))!.code).not.toContain(
      "workflow/next",
    );
    expect(clientShape(source, "/app/workflows/welcome.cts", options(true))!.code).not.toContain(
      "workflow/next",
    );
  });

  it("leaves a file that only mentions a directive alone, and fails on a misplaced one", () => {
    expect(
      clientShape('// we "use step" here\nexport const a = 1;\n', "/app/a.ts", options(true)),
    ).toBeUndefined();
    const bad = 'export function sync() {\n  "use step";\n  return 1;\n}\n';
    expect(() => clientShape(bad, "/app/bad.ts", options(true))).toThrow(/bad\.ts:2/);
  });
});
