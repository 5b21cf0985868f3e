import { describe, expect, it } from "vitest";
import { devEntrySource, handlersSource, serverEntrySource } from "./generated.js";

describe("generated modules", () => {
  it("the server entry embeds the bundle without its map comment and imports every directive file", () => {
    const src = serverEntrySource(
      { code: "var x = 1;\n//# sourceMappingURL=workflows.js.map\n", map: '{"version":3}' },
      ["/app/src/a.ts", "/app/src/b.ts"],
    );
    expect(src).toContain('import "/app/src/a.ts";\nimport "/app/src/b.ts";');
    expect(src).toContain(JSON.stringify("var x = 1;\n"));
    expect(src).not.toContain("sourceMappingURL");
    expect(src).toContain('from "workflow/runtime"');
  });

  it("the dev entry reads the output folder with watch on and exports a node handler", () => {
    const src = devEntrySource("/app/.workflow");
    expect(src).toContain('useBuild({ dir: "/app/.workflow", watch: true })');
    expect(src).toContain("export const nodeHandler");
  });

  it("handlers.mjs reads the bundles beside itself", () => {
    expect(handlersSource()).toContain('useBuild({ dir: fileURLToPath(new URL(".", import.meta.url)) })');
  });
});
