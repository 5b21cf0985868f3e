import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeProject, removeProjects } from "./__tests__/project.js";
import { pathAliasTargets, stripJsonc } from "./tsconfig.js";

afterAll(removeProjects);

describe("stripJsonc", () => {
  it("removes comments and trailing commas but not look-alikes inside strings", () => {
    const text = '{\n  // line\n  "a": "http://x/*y*/", /* block */\n  "b": [1, 2,], // end\n  "c": ",]",\n}';
    expect(JSON.parse(stripJsonc(text))).toEqual({ a: "http://x/*y*/", b: [1, 2], c: ",]" });
  });
});

describe("pathAliasTargets", () => {
  it("resolves paths against baseUrl, following extends", () => {
    const root = makeProject({
      "tsconfig.base.json":
        '{ "compilerOptions": { "baseUrl": "./src", "paths": { "@app/*": ["*"], "#db": ["../db/index.ts"] } } }',
      "app/tsconfig.json": '{ "extends": "../tsconfig.base.json", "compilerOptions": { "strict": true } }',
    });
    expect(pathAliasTargets(path.join(root, "app", "tsconfig.json")).sort()).toEqual([
      path.join(root, "db", "index.ts"),
      path.join(root, "src"),
    ]);
  });

  it("resolves paths against the declaring tsconfig when there is no baseUrl, and tolerates no file", () => {
    const root = makeProject({
      "tsconfig.json": '{ "compilerOptions": { "paths": { "~/*": ["./lib/*"] } } }',
    });
    expect(pathAliasTargets(path.join(root, "tsconfig.json"))).toEqual([path.join(root, "lib")]);
    expect(pathAliasTargets(path.join(root, "missing.json"))).toEqual([]);
  });
});
