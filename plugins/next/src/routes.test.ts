import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findAppDir, routeSource, writeRoutes } from "./routes.js";

const root = mkdtempSync(path.join(tmpdir(), "wfkit-next-routes-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const runtime = { root: "/app", outDir: ".workflow", dev: false, basePath: "" };

describe("generated routes", () => {
  it("finds app/ before src/app/, and explains what to do when neither exists", () => {
    const project = path.join(root, "find");
    mkdirSync(path.join(project, "src/app"), { recursive: true });
    expect(findAppDir(project)).toBe(path.join(project, "src/app"));
    mkdirSync(path.join(project, "app"));
    expect(findAppDir(project)).toBe(path.join(project, "app"));
    expect(() => findAppDir(path.join(root, "none"))).toThrow(/no App Router folder.*projectRoot/s);
  });

  it("writes flow, step and webhook/[token] routes that keep themselves out of git", () => {
    const appDir = path.join(root, "write/app");
    mkdirSync(appDir, { recursive: true });
    const files = writeRoutes(appDir, runtime);
    const base = path.join(appDir, ".well-known/workflow");
    expect(files.map((f) => path.relative(base, f)).sort()).toEqual([
      "v1/flow/route.js",
      "v1/step/route.js",
      "v1/streams/[...path]/route.js",
      "v1/webhook/[token]/route.js",
    ]);
    expect(readFileSync(path.join(base, ".gitignore"), "utf8")).toMatch(/^\*$/m);
    const flow = readFileSync(path.join(base, "v1/flow/route.js"), "utf8");
    expect(flow).toContain('import { workflowRoute } from "workflow/next";');
    expect(flow).toContain(`workflowRoute("flow", ${JSON.stringify(runtime)})`);
    expect(flow).toContain("export const POST = handlers.POST;");
    expect(flow).not.toContain("export const GET");
    // Route segment config such as `dynamic` fails the build of an app with `cacheComponents`.
    expect(flow).not.toMatch(/export const (dynamic|revalidate|runtime)\b/);
  });

  it("lets a webhook answer every method, and leaves unchanged files untouched", () => {
    const webhook = routeSource("webhook", runtime);
    for (const m of ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
      expect(webhook).toContain(`export const ${m} = handlers.${m};`);
    const appDir = path.join(root, "again/app");
    mkdirSync(appDir, { recursive: true });
    const [first] = writeRoutes(appDir, runtime);
    const before = statSync(first!).mtimeMs;
    writeRoutes(appDir, runtime);
    expect(statSync(first!).mtimeMs).toBe(before);
    writeRoutes(appDir, { ...runtime, dev: true });
    expect(readFileSync(first!, "utf8")).toContain('"dev":true');
  });
});
