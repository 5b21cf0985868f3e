import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  findProjectRoot,
  moduleSpecifier,
  parseFunctionId,
  resolveModuleSpecifier,
  stepId,
  workflowId,
} from "./module-id.js";

/** A disk layout: /tmp/x/{repo (package "mono"), repo/app (the root), repo/shared, repo/loose, vendored package}. */
const base = mkdtempSync(path.join(tmpdir(), "wfkit-module-id-"));
const repo = path.join(base, "repo");
const app = path.join(repo, "app");
function write(rel: string, text: string): string {
  const file = path.join(base, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}
write("repo/package.json", JSON.stringify({ name: "mono", version: "0.0.0", private: true }));
write("repo/app/package.json", JSON.stringify({ name: "app" }));
const order = write("repo/app/src/order.ts", "");
write(
  "repo/app/node_modules/@acme/tools/package.json",
  JSON.stringify({ name: "@acme/tools", version: "1.2.3" }),
);
const vendoredSteps = write("repo/app/node_modules/@acme/tools/dist/steps.js", "");
const nested = write("repo/app/node_modules/a/node_modules/b/lib/x.mjs", "");
write("repo/app/node_modules/a/node_modules/b/package.json", JSON.stringify({ name: "b", version: "2.0.0" }));
write("repo/shared/package.json", JSON.stringify({ name: "@mono/shared", version: "0.1.0" }));
const shared = write("repo/shared/src/flows.ts", "");
mkdirSync(path.join(app, "node_modules/@mono"), { recursive: true });
symlinkSync(path.join(repo, "shared"), path.join(app, "node_modules/@mono/shared"));
write("repo/unlinked/package.json", JSON.stringify({ name: "unlinked", version: "1.0.0" }));
const unlinked = write("repo/unlinked/wf.ts", "");
const loose = write("repo/loose/wf.ts", "");
const outside = write("elsewhere/wf.ts", "");

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("moduleSpecifier", () => {
  it("is the POSIX path relative to the project root, extension kept, no leading ./ (WDK's scheme)", () => {
    expect(moduleSpecifier(order, app)).toBe("src/order.ts");
    expect(moduleSpecifier("src/order.test.tsx", app)).toBe("src/order.test.tsx");
  });
  it("is <package>@<version>/<subpath> inside node_modules, however deep the install", () => {
    expect(moduleSpecifier(vendoredSteps, app)).toBe("@acme/tools@1.2.3/dist/steps.js");
    expect(moduleSpecifier(nested, app)).toBe("b@2.0.0/lib/x.mjs");
    // no package.json (or no version) still gives the package name from the path
    expect(moduleSpecifier("/nowhere/node_modules/some-pkg/dist/steps.js", "/nowhere")).toBe(
      "some-pkg/dist/steps.js",
    );
  });
  it("gives a file outside the root the package form when its package is found again from the root", () => {
    expect(moduleSpecifier(shared, app)).toBe("@mono/shared@0.1.0/src/flows.ts"); // linked into node_modules
    expect(moduleSpecifier(loose, app)).toBe("mono@0.0.0/loose/wf.ts"); // the root's ancestor package
  });
  it("falls back to the path relative to the root when no package can be found again by name", () => {
    expect(moduleSpecifier(unlinked, app)).toBe("../unlinked/wf.ts");
    expect(moduleSpecifier(outside, app)).toBe("../../elsewhere/wf.ts");
  });
  it("builds IDs in WDK's shape", () => {
    expect(workflowId("src/order.ts", "checkout")).toBe("workflow//src/order.ts//checkout");
    expect(stepId("src/order.ts", "checkout/notify")).toBe("step//src/order.ts//checkout/notify");
  });
});

describe("resolveModuleSpecifier", () => {
  it("leads every specifier moduleSpecifier makes back to its file", () => {
    for (const file of [order, vendoredSteps, shared, loose, unlinked, outside]) {
      const spec = moduleSpecifier(file, app);
      expect(resolveModuleSpecifier(spec, app), spec).toBe(realpath(file));
    }
  });
  it("reads the earlier extension-less form that older runs recorded", () => {
    expect(resolveModuleSpecifier("./src/order", app)).toBe(order);
    expect(resolveModuleSpecifier("@acme/tools/dist/steps", app)).toBe(realpath(vendoredSteps));
  });
  it("is undefined for a file that is not there", () => {
    expect(resolveModuleSpecifier("src/gone.ts", app)).toBeUndefined();
    expect(resolveModuleSpecifier("nope@1.0.0/x.js", app)).toBeUndefined();
  });
});

describe("parseFunctionId", () => {
  it("splits an ID into kind, module and (nested) name", () => {
    expect(parseFunctionId("step//@acme/tools@1.2.3/dist/steps.js//a/b")).toEqual({
      kind: "step",
      moduleSpecifier: "@acme/tools@1.2.3/dist/steps.js",
      name: "a/b",
    });
    expect(parseFunctionId("class//x//y")).toBeUndefined();
    expect(parseFunctionId("workflow//x")).toBeUndefined();
  });
});

describe("findProjectRoot", () => {
  it("is the nearest folder with a package.json, so a subfolder as cwd gives the same IDs", () => {
    expect(findProjectRoot(path.join(app, "src"))).toBe(app);
  });
});

function realpath(p: string): string {
  return realpathSync(p);
}
