import type { Metafile } from "esbuild";
import { describe, expect, it } from "vitest";
import { findForbiddenImports, locateSpecifier } from "./import-chain.js";
import { isNodeBuiltin } from "./node-builtins.js";

type Imports = Record<string, { path: string; external?: boolean }[]>;

function metafile(graph: Imports): Metafile {
  const inputs: Metafile["inputs"] = {};
  for (const [file, imports] of Object.entries(graph)) {
    inputs[file] = { bytes: 0, imports: imports.map((i) => ({ kind: "import-statement" as const, ...i })) };
  }
  return { inputs, outputs: {} };
}

describe("findForbiddenImports", () => {
  it("gives the shortest chain from the roots to each forbidden external import", () => {
    const graph = metafile({
      entry: [{ path: "a.ts" }, { path: "b.ts" }],
      "a.ts": [{ path: "deep.ts" }],
      "b.ts": [{ path: "util.ts" }],
      "deep.ts": [{ path: "util.ts" }],
      "util.ts": [
        { path: "node:fs", external: true },
        { path: "lodash", external: true },
      ],
    });
    expect(findForbiddenImports(graph, ["entry"], isNodeBuiltin)).toEqual([
      ["entry", "b.ts", "util.ts", "node:fs"],
    ]);
  });

  it("reports each importer of a built-in and ignores unreachable files", () => {
    const graph = metafile({
      entry: [{ path: "a.ts" }],
      "a.ts": [{ path: "fs", external: true }, { path: "b.ts" }],
      "b.ts": [{ path: "fs/promises", external: true }],
      "orphan.ts": [{ path: "child_process", external: true }],
    });
    expect(findForbiddenImports(graph, ["entry"], isNodeBuiltin)).toEqual([
      ["entry", "a.ts", "fs"],
      ["entry", "a.ts", "b.ts", "fs/promises"],
    ]);
  });

  it("survives import cycles", () => {
    const graph = metafile({
      entry: [{ path: "a.ts" }],
      "a.ts": [{ path: "b.ts" }],
      "b.ts": [{ path: "a.ts" }],
    });
    expect(findForbiddenImports(graph, ["entry"], isNodeBuiltin)).toEqual([]);
  });
});

describe("isNodeBuiltin", () => {
  it("knows built-ins with and without the node: prefix, and nothing else", () => {
    for (const name of ["fs", "node:fs", "fs/promises", "child_process", "node:test", "crypto"]) {
      expect(isNodeBuiltin(name)).toBe(true);
    }
    for (const name of ["workflow", "fs-extra", "./fs", "lodash/fs"]) expect(isNodeBuiltin(name)).toBe(false);
  });
});

describe("locateSpecifier", () => {
  it("finds the first quoted occurrence, with any quote style", () => {
    const source = "// fs is used below\nimport x from 'fs';\nconst y = require(\"fs\");\n";
    expect(locateSpecifier(source, "fs")).toEqual({ line: 2, column: 14 });
    expect(locateSpecifier(source, "path")).toBeUndefined();
  });
});
