import { describe, expect, it } from "vitest";
import { transpileModule } from "./transpile.js";

describe("transpileModule", () => {
  const deepArray = `${"[".repeat(3000)}1${"]".repeat(3000)}`;

  it("refuses a TypeScript file nested too deeply for swc's type stripping, naming where", () => {
    // swc's transformSync overflowed its native stack on it: SIGSEGV, the app gone.
    expect(() =>
      transpileModule(`export const data = ${deepArray};\n`, "/app/src/data.ts", "/app", "client"),
    ).toThrow(/Cannot compile \/app\/src\/data\.ts:\n {2}\/app\/src\/data\.ts:1:\d+ NESTING_TOO_DEEP/);
  });

  it("refuses a directive file nested too deeply, in client and step mode", () => {
    const source = `export async function s() {\n  "use step";\n  return ${deepArray};\n}\n`;
    for (const mode of ["client", "step"] as const) {
      expect(() => transpileModule(source, "/app/src/s.ts", "/app", mode)).toThrow(/3:\d+ NESTING_TOO_DEEP/);
    }
  });

  it("still strips types from ordinary files", () => {
    const { code } = transpileModule(
      "export const n: number = [[1]][0][0];\n",
      "/app/src/n.ts",
      "/app",
      "client",
    );
    expect(code).toContain("export const n = [");
  });
});
