/**
 * The dashboard in a real browser: the app (a worker compiled from the sources by `workflow/register`) executes
 * runs on the local or Postgres world, `wf web` serves the dashboard as a separate process on the same world, and
 * Debian's Chromium (driven by playwright-core; `scripts/ensure-chromium.sh` installs it when missing, never a
 * downloaded browser) starts runs from the form, watches one complete live, opens its timeline, cancels a sleeping
 * run, retries a failed one, forks from a step and resumes a hook from the form.
 *
 * Screenshots of the main pages go to test/e2e/.tmp/screenshots, or to docs/images with
 * WORKFLOW_DASHBOARD_SCREENSHOTS=docs (how the documentation's pictures are made).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { worldFromEnv } from "@wfkit/core";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serialize } from "../../runtime/core/src/serialization/codec.js";
import { copyProject, type Project, type SpawnedNode, spawnNode } from "./support/process.js";
import { worldEnv } from "./support/world-setups.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const wfBin = path.join(repo, "packages/workflow/bin/wf.js");
const CHROMIUM = "/usr/bin/chromium";
const shotsDir =
  process.env.WORKFLOW_DASHBOARD_SCREENSHOTS === "docs"
    ? path.join(repo, "docs/images")
    : path.join(here, ".tmp/screenshots");

/** `wf web --port 0` on the world of `env`; resolves with its URL once it listens. */
function startWfWeb(project: Project, env: Record<string, string>) {
  const child = spawn(process.execPath, [wfBin, "web", "--port", "0"], {
    cwd: project.dir,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wf web did not start:\n${output}`)), 30_000);
    const onData = (chunk: string) => {
      output += chunk;
      const match = /Dashboard for the \w+ world: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", onData);
    child.on("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`wf web exited with ${code}:\n${output}`));
    });
  });
  return { child, url };
}

/** Starts a run from the workflows page's form by function name; resolves with its ID (from the run page). */
async function startFromForm(page: Page, base: string, name: string, args: unknown[]): Promise<string> {
  await page.goto(`${base}#/workflows`);
  const form = page.getByTestId("start-form");
  await form.locator('input[name="workflowName"]').fill(name);
  await form.locator('input[name="args"]').fill(JSON.stringify(args));
  await form.getByRole("button", { name: "Start" }).click();
  await page.waitForURL(/#\/runs\/[^/?]+$/);
  const runId = decodeURIComponent(new URL(page.url()).hash.slice("#/runs/".length));
  await expectStatus(page, /.+/);
  return runId;
}

const runPage = (page: Page) => page.getByTestId("run-page");

/** Waits for the run page to show `status`, with no reload: the page must follow the run live. */
async function expectStatus(page: Page, status: string | RegExp, timeout = 30_000): Promise<void> {
  const pattern = typeof status === "string" ? new RegExp(`^${status}$`) : status;
  await page.waitForFunction(
    ([source, flags]) => {
      const el = document.querySelector('[data-testid="run-page"]');
      return (
        el !== null &&
        new RegExp(source as string, flags as string).test(el.getAttribute("data-status") ?? "")
      );
    },
    [pattern.source, pattern.flags],
    { timeout },
  );
}

describe.each(["local", "postgres"] as const)(
  "the dashboard in Chromium on the %s world",
  { timeout: 90_000 },
  (kind) => {
    const cleanups: (() => Promise<void> | void)[] = [];
    let browser: Browser;
    let page: Page;
    let base: string;
    let project: Project;
    let env: Record<string, string>;

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) {
        execFileSync("bash", [path.join(repo, "scripts/ensure-chromium.sh")], { stdio: "inherit" });
      }
      project = copyProject("dashboard");
      cleanups.push(() => project.cleanup());
      const opened = await worldEnv(kind, project);
      env = opened.env;
      const cleanup = opened.cleanup;
      cleanups.push(cleanup);
      const worker: SpawnedNode = spawnNode(project, ["src/worker.ts"], env);
      cleanups.push(() => {
        worker.child.kill("SIGTERM");
      });
      await worker.waitForLine(/^WORKER \d+ ready/);
      const web = startWfWeb(project, env);
      cleanups.push(() => {
        web.child.kill("SIGTERM");
      });
      base = await web.url;
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
      cleanups.push(() => browser.close());
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      mkdirSync(shotsDir, { recursive: true });
    }, 300_000);

    afterAll(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    const shot = (name: string) =>
      kind === "local"
        ? page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: true })
        : undefined;

    let pipelineRun: string;

    it("starts a run from the form, watches it complete live, and shows its timeline and values", async () => {
      pipelineRun = await startFromForm(page, base, "pipeline", ["batch-7"]);
      await expect(runPage(page).getAttribute("data-status")).resolves.toMatch(/pending|running/);
      await expectStatus(page, "completed");
      await expect(page.getByTestId("output").textContent()).resolves.toContain("batch-7/load done");
      const rows = page.getByTestId("timeline-row");
      await expect(
        rows.evaluateAll((els) => els.map((e) => `${e.dataset.kind}:${e.dataset.status}`)),
      ).resolves.toEqual(["step:completed", "sleep:completed", "step:completed", "step:completed"]);
      // The sleep sits between the first and second step on the time axis.
      const lefts = await rows.evaluateAll((els) =>
        els.map((e) => Number.parseFloat((e.querySelector(".bar") as HTMLElement).style.left)),
      );
      expect(lefts[1]).toBeGreaterThan(lefts[0] as number);
      expect(lefts[2]).toBeGreaterThan(lefts[1] as number);
      await page.locator('[data-testid="timeline-row"][data-id="step_0003"]').click();
      await page.getByTestId("step-output").filter({ hasText: "batch-7/transform done" }).waitFor();
      // The run's output stream, decoded as text (read on with the run's changes: it may land after the status).
      await expect
        .poll(() => page.locator('[data-testid="streams"] [data-stream="log"] pre').textContent(), {
          timeout: 10_000,
        })
        .toBe(
          "batch-7/extract: 400 ms of work\nbatch-7/transform: 400 ms of work\nbatch-7/load: 300 ms of work\n",
        );
      // The event log follows the run live too (its own reload, so it may land a moment after the status).
      await page.locator('[data-testid="events"] tr[data-type="run_completed"]').waitFor({ timeout: 10_000 });
      await shot("dashboard-run");
    });

    it("forks the completed run from a step: the new run reuses the earlier results and completes", async () => {
      await page.goto(`${base}#/runs/${encodeURIComponent(pipelineRun)}`);
      await page.locator('[data-testid="timeline-row"][data-id="step_0003"]').click();
      await page.getByTestId("fork-from-step").click();
      await page.waitForURL((url) => url.hash.startsWith("#/runs/") && !url.hash.endsWith(pipelineRun));
      await expectStatus(page, "completed");
      await expect(page.locator(".facts").textContent()).resolves.toContain(`${pipelineRun} at step_0003`);
      await expect(page.getByTestId("output").textContent()).resolves.toContain("batch-7/extract done");
    });

    it("cancels a sleeping run", async () => {
      const napRun = await startFromForm(page, base, "nap", ["n-1"]);
      await page.locator('[data-testid="timeline-row"][data-kind="sleep"][data-status="waiting"]').waitFor();
      await page.getByTestId("cancel").click();
      await expectStatus(page, "cancelled");
      await expect(page.getByTestId("cancel").count()).resolves.toBe(0);
      expect(napRun).toBeTruthy();
    });

    it("shows a failed run's error and retries it after the outage", async () => {
      writeFileSync(path.join(project.dir, "outage"), "");
      await startFromForm(page, base, "billing", ["inv-9"]);
      await expectStatus(page, "failed");
      await expect(page.getByTestId("error").textContent()).resolves.toContain(
        "payment provider down while charging inv-9",
      );
      await expect(
        page.locator('[data-testid="timeline-row"][data-id="step_0002"]').getAttribute("data-status"),
      ).resolves.toBe("failed");
      await shot("dashboard-failed");
      rmSync(path.join(project.dir, "outage"));
      await page.getByTestId("retry").click();
      await expectStatus(page, "completed");
      await expect(page.getByTestId("output").textContent()).resolves.toContain("charged inv-9");
    });

    it("resumes a hook from the form with a JSON payload", async () => {
      await startFromForm(page, base, "approval", ["po-3"]);
      const form = page.locator('[data-token="approve:po-3"] [data-testid="hook-form"]');
      await form.waitFor({ timeout: 30_000 });
      await shot("dashboard-hook");
      await form.getByTestId("hook-payload").fill('{"approved": true, "by": "dana"}');
      await form.getByTestId("hook-send").click();
      await expectStatus(page, "completed");
      const output = JSON.parse((await page.getByTestId("output").textContent()) ?? "null");
      expect(output).toEqual({ id: "po-3", approved: true, by: "dana" });
    });

    it("opens a run of 10,000 steps: the timeline draws only the rows in view and scrolls to the last step", async () => {
      // Recorded straight into the world (under a lease, so the worker leaves it alone): 30,000 step events.
      const world = await worldFromEnv(env);
      try {
        const created = await world.createRun({
          workflowName: "workflow//./src/big//big",
          input: serialize([]),
          lease: { owner: "dashboard-test", ttlMs: 120_000 },
        });
        const lease =
          created.lease ?? (await world.acquireLease(created.run.runId, "dashboard-test", 120_000));
        let lastSeq = created.run.lastSeq;
        lastSeq = (await world.append(created.run.runId, lastSeq, [{ type: "run_started" }], { lease })).run
          .lastSeq;
        for (let i = 1; i <= 10_000; i += 1000) {
          const batch = [];
          for (let j = i; j < i + 1000; j++) {
            const correlationId = `step_${String(j).padStart(4, "0")}`;
            batch.push(
              {
                type: "step_created" as const,
                correlationId,
                data: { stepName: "step//./src/big//s", input: serialize({ args: [j] }) },
              },
              { type: "step_started" as const, correlationId, data: { attempt: 1 } },
              { type: "step_completed" as const, correlationId, data: { output: serialize(j) } },
            );
          }
          lastSeq = (await world.append(created.run.runId, lastSeq, batch, { lease })).run.lastSeq;
        }
        await world.append(
          created.run.runId,
          lastSeq,
          [{ type: "run_completed", data: { output: serialize(10_000) } }],
          { lease },
        );
        if (lease) await world.releaseLease(lease);
        await page.goto(`${base}#/runs/${encodeURIComponent(created.run.runId)}`);
        await expectStatus(page, "completed", 60_000);
        await expect(page.locator(".facts").textContent()).resolves.toContain("30003");
        const rows = page.getByTestId("timeline-row");
        expect(await rows.count()).toBeLessThan(40);
        await page.locator(".timeline .rows").evaluate((el) => {
          el.scrollTop = el.scrollHeight;
        });
        await page.locator('[data-testid="timeline-row"][data-id="step_10000"]').click();
        await page
          .getByTestId("step-output")
          .filter({ hasText: /^10000$/ })
          .waitFor();
        expect(await rows.count()).toBeLessThan(40);
      } finally {
        await world.close();
      }
    }, 120_000);

    it("lists runs with filters and search, and workflows with counts and failure rates", async () => {
      await page.goto(`${base}#/runs`);
      await page.getByTestId("live").filter({ hasText: "live" }).waitFor();
      const table = page.getByTestId("runs-table");
      await expect.poll(() => table.locator("tbody tr[data-run-id]").count(), { timeout: 10_000 }).toBe(6);
      await shot("dashboard-runs");
      await page.getByTestId("filter-status").selectOption("cancelled");
      await expect.poll(() => table.locator("tbody tr[data-run-id]").count(), { timeout: 10_000 }).toBe(1);
      await page.getByTestId("filter-status").selectOption("");
      await page.getByTestId("search").fill(pipelineRun);
      await page.getByTestId("search").press("Enter");
      await expect
        .poll(
          () => table.locator("tbody tr[data-run-id]").evaluateAll((els) => els.map((e) => e.dataset.runId)),
          {
            timeout: 10_000,
          },
        )
        .toEqual([pipelineRun]);

      // A run started elsewhere appears in the list without a reload.
      await page.getByTestId("search").fill("");
      await page.getByTestId("search").press("Enter");
      await expect.poll(() => table.locator("tbody tr[data-run-id]").count(), { timeout: 10_000 }).toBe(6);
      await page.evaluate(() =>
        fetch("api/runs", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ workflowName: "nap", args: ["n-2"] }),
        }),
      );
      await expect.poll(() => table.locator("tbody tr[data-run-id]").count(), { timeout: 10_000 }).toBe(7);

      await page.getByTestId("nav-workflows").click();
      const billing = page.locator('[data-testid="workflows-table"] tr[data-workflow$="//billing"]');
      await billing.waitFor();
      // The billing run failed once but was retried to completion: no failure left.
      await expect(billing.getByTestId("failure-rate").textContent()).resolves.toBe("0%");
      const nap = page.locator('[data-testid="workflows-table"] tr[data-workflow$="//nap"]');
      await expect(nap.locator("td").nth(1).textContent()).resolves.toBe("2");
      await shot("dashboard-workflows");
    });
  },
);
