/**
 * `useRun` in a real browser (Debian's Chromium through playwright-core; `scripts/ensure-chromium.sh` installs it
 * when missing): a page bundled from test/e2e/projects/live-client/src/page.tsx starts a run of eight steps and
 * follows its state and output over the Durable Streams endpoint of the app (a Node server under
 * `workflow/register`, on the local and Postgres worlds).
 *
 * - the page follows the run live;
 * - a reload mid-run continues from the stored offsets (its first state request after the reload carries an
 *   offset, not -1) and no step or output line is shown twice or missed;
 * - the server is killed (SIGKILL) mid-run and started again on the same port: the page reconnects by itself and
 *   catches up to the end.
 *
 * Screenshots go to test/e2e/.tmp/screenshots, or to docs/images with WORKFLOW_LIVE_CLIENT_SCREENSHOTS=docs.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, freePort, type Project, type SpawnedNode, spawnNode } from "./support/process.js";
import { worldEnv } from "./support/world-setups.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const CHROMIUM = "/usr/bin/chromium";
const STEPS = 8;
const shotsDir =
  process.env.WORKFLOW_LIVE_CLIENT_SCREENSHOTS === "docs"
    ? path.join(repo, "docs/images")
    : path.join(here, ".tmp/screenshots");
const SECRET = "live-client-test-secret-0123456789abcdef";

let browser: Browser;

beforeAll(async () => {
  execFileSync("bash", [path.join(repo, "scripts/ensure-chromium.sh")], { stdio: "inherit" });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  mkdirSync(shotsDir, { recursive: true });
}, 600_000);

afterAll(async () => {
  await browser?.close();
});

/** What the page shows: status, steps (id and status) and output lines. */
async function shown(page: Page) {
  return page.evaluate(() => ({
    status: document.querySelector('[data-testid="status"]')?.textContent ?? "",
    steps: [...document.querySelectorAll('[data-testid="steps"] li')].map((li) => ({
      text: li.querySelector("code")?.textContent ?? "",
      status: li.getAttribute("data-status") ?? "",
    })),
    output: [...document.querySelectorAll('[data-testid="output"] li')].map((li) => li.textContent ?? ""),
    result: document.querySelector('[data-testid="result"]')?.textContent ?? "",
  }));
}

/** Waits until at least `n` steps are completed on the page (the page must follow the run by itself). */
async function completedSteps(page: Page, n: number, timeout = 30_000) {
  await page.waitForFunction(
    (min) => document.querySelectorAll('[data-testid="steps"] li[data-status="completed"]').length >= min,
    n,
    { timeout },
  );
}

/** No step and no output line twice; lines in order with none missing up to the last one shown. */
function expectConsistent(view: Awaited<ReturnType<typeof shown>>) {
  const ids = view.steps.map((s) => s.text);
  expect(new Set(ids).size).toBe(ids.length);
  expect(view.output).toEqual(view.output.map((_, i) => `line ${i + 1}`));
}

describe.each(["local", "postgres"] as const)("live client in Chromium (%s world)", (worldName) => {
  let project: Project;
  let server: SpawnedNode | undefined;
  let env: Record<string, string>;
  let cleanupWorld: () => Promise<void>;
  let port: number;

  beforeAll(async () => {
    project = copyProject("live-client");
    await build({
      entryPoints: [project.file("src/page.tsx")],
      bundle: true,
      // The browser build fails if the client pulled in anything of Node's: workflow/react must be browser-safe.
      platform: "browser",
      format: "esm",
      jsx: "automatic",
      outfile: project.file("public/app.js"),
      define: { "process.env.NODE_ENV": '"production"' },
      nodePaths: [path.join(repo, "node_modules")],
      logLevel: "error",
    });
    const world = await worldEnv(worldName, project);
    cleanupWorld = world.cleanup;
    port = await freePort();
    env = {
      ...world.env,
      PORT: String(port),
      STEPS: String(STEPS),
      PAUSE: "700ms",
      WORKFLOW_STREAMS_SECRET: SECRET,
      WORKFLOW_LEASE_TTL_MS: "1500",
      WORKFLOW_SWEEP_INTERVAL_MS: "300",
    };
  }, 120_000);

  afterAll(async () => {
    server?.child.kill("SIGKILL");
    await server?.done;
    await cleanupWorld?.();
    project?.cleanup();
  });

  async function startServer() {
    server = spawnNode(project, ["src/server.ts"], env);
    await server.waitForLine(/^LISTENING/, 30_000);
  }

  it("follows a run, continues after a reload from its offset, and catches up after a server restart", {
    timeout: 180_000,
  }, async () => {
    await startServer();
    const page = await browser.newPage({ viewport: { width: 760, height: 400 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.click("#start");
    await completedSteps(page, 2);
    const before = await shown(page);
    expectConsistent(before);
    expect(before.status).toMatch(/running/);
    await page.screenshot({ path: path.join(shotsDir, `live-client-following-${worldName}.png`) });

    // Reload mid-run: the page restores what it had and asks the server only for what came after.
    await page.reload();
    await page.waitForSelector('[data-testid="steps"] li');
    const requests = (
      await page.evaluate(() => (window as unknown as { __requests: string[] }).__requests)
    ).map((u) => new URL(u));
    const stateRequest = requests.find((u) => u.pathname.endsWith("/state"));
    expect(stateRequest, `requests after the reload: ${requests.join("\n")}`).toBeDefined();
    expect(stateRequest!.searchParams.get("offset")).not.toBe("-1");
    expect(stateRequest!.searchParams.get("offset")).toMatch(/^\d+_\d+$/);
    await completedSteps(page, 4);
    expectConsistent(await shown(page));
    await page.screenshot({ path: path.join(shotsDir, `live-client-after-reload-${worldName}.png`) });

    // Crash the server mid-run and start it again on the same port.
    server!.child.kill("SIGKILL");
    await server!.done;
    await page.waitForTimeout(1500);
    const during = await shown(page);
    expectConsistent(during);
    await page.screenshot({ path: path.join(shotsDir, `live-client-server-down-${worldName}.png`) });
    await startServer();

    await page.waitForFunction(
      () => document.querySelector('[data-testid="status"]')?.textContent === "completed",
      null,
      {
        timeout: 60_000,
      },
    );
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="output"] li').length >= n,
      STEPS,
      { timeout: 15_000 },
    );
    const done = await shown(page);
    expectConsistent(done);
    expect(done.steps).toHaveLength(STEPS + 1); // eight work steps and the step that closes the output
    expect(done.steps.every((s) => s.status === "completed")).toBe(true);
    expect(done.output).toHaveLength(STEPS);
    expect(JSON.parse(done.result)).toEqual({ total: (STEPS * (STEPS + 1) * (2 * STEPS + 1)) / 6 });
    expect(errors).toEqual([]);
    await page.screenshot({ path: path.join(shotsDir, `live-client-completed-${worldName}.png`) });
    await page.close();
  });
});
