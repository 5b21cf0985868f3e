/**
 * A WDK user's Vitest setup, unchanged, on this project's packages: an app installs the packed packages with
 * `@workflow/vitest` and `@workflow/errors` as npm aliases of `@wfkit/vitest` and `@wfkit/errors` (the registry is
 * stood in for by the tarballs, as in install/install.test.ts), and its tests import every name from
 * `@workflow/vitest` (the `workflow()` plugin, `waitForHook`, `waitForSleep`, the manual-setup functions with
 * `rootDir`) and from `@workflow/errors`. The app's own Vitest runs them.
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ESM script without declarations
import { packAll } from "../../scripts/pack.mjs";
import { runVitest } from "./support/vitest-child.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const vitestVersion: string = createRequire(import.meta.url)("vitest/package.json").version;

let root: string;
let app: string;

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "wdk-vitest-alias-"));
  const packed: { published: string; file: string }[] = packAll(path.join(root, "tarballs"));
  const tarball = (name: string) => `file:${packed.find((p) => p.published === name)!.file}`;
  app = path.join(root, "app");
  cpSync(path.join(here, "projects", "wdk-vitest"), app, { recursive: true });
  // Stored under another suffix so that this repository's own Vitest run never collects them.
  const workflows = path.join(app, "workflows");
  for (const file of readdirSync(workflows).filter((f) => f.endsWith(".test-fixture.ts"))) {
    renameSync(
      path.join(workflows, file),
      path.join(workflows, file.replace(".test-fixture.ts", ".test.ts")),
    );
  }
  const overrides = Object.fromEntries(
    packed.filter((p) => p.published.startsWith("@wfkit/")).map((p) => [p.published, `file:${p.file}`]),
  );
  writeFileSync(
    path.join(app, "package.json"),
    `${JSON.stringify(
      {
        name: "wdk-vitest-alias",
        private: true,
        type: "module",
        dependencies: { workflow: tarball("@wfkit/workflow"), "@workflow/errors": tarball("@wfkit/errors") },
        devDependencies: { "@workflow/vitest": tarball("@wfkit/vitest"), vitest: vitestVersion },
        overrides,
      },
      null,
      2,
    )}\n`,
  );
  execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], {
    cwd: app,
    stdio: "pipe",
    env: { ...process.env, NODE_OPTIONS: "" },
  });
}, 400_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("@workflow/vitest and @workflow/errors as npm aliases", () => {
  const bin = () => path.join(app, "node_modules", "vitest", "vitest.mjs");

  it("install under WDK's names, from our packages", () => {
    for (const [alias, name] of [
      ["@workflow/vitest", "@wfkit/vitest"],
      ["@workflow/errors", "@wfkit/errors"],
    ]) {
      const pkg = JSON.parse(readFileSync(path.join(app, "node_modules", alias, "package.json"), "utf8"));
      expect(pkg.name).toBe(name);
    }
  });

  it("the manual setup: buildWorkflowTests in globalSetup, setupWorkflowTests per file, rootDir", async () => {
    const result = await runVitest(app, ["-c", "vitest.manual.config.ts"], { bin: bin() });
    expect(result.failures, result.output).toEqual([]);
    expect(result.code, result.output).toBe(0);
    expect(result.passed).toBe(5);
    // The plugin's rootDir moved both artifact folders, also for buildWorkflowTests() called without options in
    // the globalSetup: it compiled the two workflow files into that outDir.
    expect(existsSync(path.join(app, "test-artifacts", ".workflow-data"))).toBe(true);
    expect(readdirSync(path.join(app, "test-artifacts", ".workflow-vitest")).length).toBeGreaterThanOrEqual(
      2,
    );
    expect(existsSync(path.join(app, ".workflow-data"))).toBe(false);
    expect(existsSync(path.join(app, ".workflow-vitest"))).toBe(false);
  }, 120_000);

  it("the workflow() plugin alone: hooks, sequential sleeps, webhooks and the error classes", async () => {
    const result = await runVitest(app, [], { bin: bin() });
    expect(result.failures, result.output).toEqual([]);
    expect(result.code, result.output).toBe(0);
    expect(result.passed).toBe(5);
    expect(existsSync(path.join(app, ".workflow-data"))).toBe(true);
  }, 120_000);
});
