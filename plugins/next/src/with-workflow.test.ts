import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { NextConfig } from "next";
import { afterAll, describe, expect, it, vi } from "vitest";
import { isTelemetryFlush, withBundlerConfig, withWorkflow } from "./with-workflow.js";

const root = mkdtempSync(path.join(tmpdir(), "wfkit-next-config-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const runtime = { root, outDir: ".workflow", dev: false, basePath: "" };

type Rule = {
  loaders: Array<{ loader: string; options: { server: boolean } }>;
  condition: { all: unknown[] };
};
type WebpackHook = (
  config: { module: { rules: unknown[] } },
  ctx: { isServer: boolean; nextRuntime?: string },
) => {
  module: { rules: Array<{ use: Array<{ options: { server: boolean } }>; enforce?: string }> };
};

describe("withWorkflow's bundler config", () => {
  it("adds a server and a client loader rule per script type, filtered on directive text, outside node_modules", () => {
    const config = withBundlerConfig({}, { projectRoot: root, runtime });
    const rules = config.turbopack?.rules as Record<string, Rule[]>;
    expect(Object.keys(rules).sort()).toEqual(["*.js", "*.jsx", "*.mjs", "*.mts", "*.ts", "*.tsx"]);
    const [server, client] = rules["*.ts"]!;
    expect(server!.loaders[0]!.options.server).toBe(true);
    expect(client!.loaders[0]!.options.server).toBe(false);
    expect(server!.loaders[0]!.loader).toMatch(/loader\.cjs$/);
    expect(server!.condition.all.slice(0, 2)).toEqual(["node", { not: "foreign" }]);
    expect(client!.condition.all[0]).toEqual({ not: "node" });
    const content = (server!.condition.all[2] as { content: RegExp }).content;
    expect(content.test('"use workflow";')).toBe(true);
    expect(content.test("'use step'")).toBe(true);
    expect(content.test("use stepping")).toBe(false);
    // one-edit typos reach the loader, whose compiler reports them
    for (const typo of ['"use workfow"', "'use stpe'", '"use workflows"', '"us step"', '"usestep"'])
      expect(content.test(typo), typo).toBe(true);
  });

  it("keeps the user's rules, external packages and webpack hook", () => {
    const userWebpack = vi.fn((c) => c);
    const config = withBundlerConfig(
      {
        serverExternalPackages: ["pg", "workflow"],
        turbopack: { rules: { "*.ts": { loaders: ["user-loader"] }, "*.svg": { loaders: ["svgr"] } } },
        webpack: userWebpack,
      },
      { projectRoot: root, runtime },
    );
    expect(config.serverExternalPackages).toEqual(["pg", "workflow"]);
    const rules = config.turbopack?.rules as Record<string, unknown[]>;
    expect(rules["*.svg"]).toEqual({ loaders: ["svgr"] });
    expect(rules["*.ts"]).toHaveLength(3);
    expect(rules["*.ts"]![2]).toEqual({ loaders: ["user-loader"] });

    const hook = config.webpack as unknown as WebpackHook;
    const serverOut = hook({ module: { rules: [] } }, { isServer: true, nextRuntime: "nodejs" });
    expect(serverOut.module.rules[0]!.enforce).toBe("pre");
    expect(serverOut.module.rules[0]!.use[0]!.options.server).toBe(true);
    const edge = hook({ module: { rules: [] } }, { isServer: true, nextRuntime: "edge" });
    expect(edge.module.rules[0]!.use[0]!.options.server).toBe(false);
    const browser = hook({ module: { rules: [] } }, { isServer: false });
    expect(browser.module.rules[0]!.use[0]!.options.server).toBe(false);
    expect(userWebpack).toHaveBeenCalledTimes(3);
  });
});

describe("withWorkflow at build time", () => {
  it("builds .workflow/ and the routes once per build, and resolves a config function", async () => {
    const project = path.join(root, "project");
    mkdirSync(path.join(project, "app"), { recursive: true });
    mkdirSync(path.join(project, "workflows"));
    writeFileSync(path.join(project, "package.json"), '{"name":"next-unit","type":"module"}');
    writeFileSync(
      path.join(project, "workflows/hello.ts"),
      'export async function hello() {\n  "use workflow";\n  return await shout("hi");\n}\n' +
        'async function shout(s: string) {\n  "use step";\n  return s.toUpperCase();\n}\n',
    );
    const userConfig = vi.fn(async (): Promise<NextConfig> => ({ basePath: "/base" }));
    const configFn = withWorkflow(userConfig, { projectRoot: project });
    vi.stubEnv("WORKFLOW_NEXT_BUILT", "");
    try {
      const config = await configFn("phase-production-build", { defaultConfig: {} });
      expect(userConfig).toHaveBeenCalledWith("phase-production-build", { defaultConfig: {} });
      expect(config.basePath).toBe("/base");
      const manifest = JSON.parse(readFileSync(path.join(project, ".workflow/manifest.json"), "utf8"));
      expect(Object.keys(manifest.workflows)).toEqual(["workflow//workflows/hello.ts//hello"]);
      const flow = readFileSync(path.join(project, "app/.well-known/workflow/v1/flow/route.js"), "utf8");
      expect(flow).toContain('"basePath":"/base"');
      expect(process.env.WORKFLOW_NEXT_BUILT).toBe(path.join(project, ".workflow"));

      // A worker process of the same `next build` inherits the mark and does not build again.
      rmSync(path.join(project, ".workflow"), { recursive: true });
      await configFn("phase-production-build", { defaultConfig: {} });
      expect(existsSync(path.join(project, ".workflow"))).toBe(false);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("fails the Next build with the compiler's file and line", async () => {
    const project = path.join(root, "broken");
    mkdirSync(path.join(project, "app"), { recursive: true });
    writeFileSync(path.join(project, "package.json"), '{"name":"next-unit-broken","type":"module"}');
    writeFileSync(
      path.join(project, "bad.ts"),
      'import { readFileSync } from "node:fs";\nexport async function w() {\n  "use workflow";\n  return readFileSync("x");\n}\n',
    );
    vi.stubEnv("WORKFLOW_NEXT_BUILT", "");
    try {
      await expect(
        withWorkflow({}, { projectRoot: project })("phase-production-build", { defaultConfig: {} }),
      ).rejects.toThrow(/workflow build failed[\s\S]*bad\.ts:\d+/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("leaves Next's telemetry flusher the user's config, starting no dev build that would keep it alive", async () => {
    const flusher = "/app/node_modules/next/dist/telemetry/detached-flush.js";
    expect(isTelemetryFlush(["node", flusher, "dev", "."])).toBe(true);
    expect(isTelemetryFlush(["node", "/app/node_modules/next/dist/bin/next", "dev"])).toBe(false);
    const project = path.join(root, "flush");
    mkdirSync(path.join(project, "app"), { recursive: true });
    writeFileSync(path.join(project, "package.json"), '{"name":"next-unit-flush","type":"module"}');
    const argv = process.argv;
    process.argv = ["node", flusher, "dev", project];
    try {
      const config = await withWorkflow({ distDir: "out" }, { projectRoot: project })(
        "phase-development-server",
        { defaultConfig: {} },
      );
      expect(config).toEqual({ distDir: "out" });
      expect(existsSync(path.join(project, ".workflow"))).toBe(false);
      expect(existsSync(path.join(project, "app/.well-known"))).toBe(false);
    } finally {
      process.argv = argv;
    }
  });
});
