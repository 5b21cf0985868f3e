/**
 * Serverless execution on the Vercel world, simulated: `wf build --target vercel` writes the Build Output, and its
 * flow function (`index.mjs`, as built) runs in a fresh Node process per queue message, killed with SIGKILL when
 * its maxDuration is up, consuming from the loopback stand-in of Vercel Queues through the real `@vercel/queue`
 * client. Storage is Postgres. Nothing is shared between invocations but the database and the queue.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { QueueClient } from "@vercel/queue";
import { FLOW_TOPIC } from "@wfkit/world-vercel";
import { freshProcessInvoker } from "@wfkit/world-vercel/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyNextApp, followRun, type NextApp, type NextServer, runNext, serveNext } from "./next/support.js";
import { copyIntoTmp, copyProject, type Project, runNode } from "./support/process.js";
import {
  checkBuildOutput,
  cli,
  completions,
  FLOW,
  MAX_DURATION_MS,
  marks,
  ROUTER,
  type Simulation,
  simulate,
  TICK,
  useCleanups,
} from "./support/vercel-simulation.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const cleanups = useCleanups();

async function startRun(project: Project, sim: Simulation, args: string[]) {
  const result = await runNode(project, ["src/start.ts", ...args], { env: sim.env, allowFailure: true });
  const lines = result.stdout.trim().split("\n");
  expect(result.code, result.stdout + result.stderr).toBe(0);
  const { runId } = JSON.parse(lines[0]!) as { runId: string };
  const end = JSON.parse(lines.at(-1)!) as {
    result?: number;
    status: string;
    code?: string;
    message?: string;
  };
  return { runId, ...end };
}

describe("wf build --target vercel", () => {
  let project: Project;
  beforeAll(async () => {
    project = copyProject("serverless");
    const built = await runNode(project, [cli(), "build", "--target", "vercel", "--max-duration", "3"]);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/Built 2 workflows and 2 steps for Vercel into \.vercel\/output\//);
  }, 120_000);
  afterAll(() => project?.cleanup());

  it("writes Build Output API v3: config.json, function directories with .vc-config.json, the queue trigger", async () => {
    const problems = checkBuildOutput(project.file(".vercel/output"));
    expect(problems).toEqual([]);
    const flow = JSON.parse(readFileSync(project.file(`${FLOW}/.vc-config.json`), "utf8"));
    expect(flow).toMatchObject({
      handler: "index.mjs",
      launcherType: "Nodejs",
      maxDuration: 3,
      environment: { WORKFLOW_TARGET_WORLD: "vercel", WORKFLOW_STEP_BUDGET_MS: "3000" },
      experimentalTriggers: [{ type: "queue/v2beta", topic: FLOW_TOPIC, consumer: "default" }],
    });
    const router = JSON.parse(readFileSync(project.file(`${ROUTER}/.vc-config.json`), "utf8"));
    expect(router.experimentalTriggers).toBeUndefined();
    const config = JSON.parse(readFileSync(project.file(".vercel/output/config.json"), "utf8"));
    expect(config.routes.slice(0, 2)).toEqual([
      { src: "^/\\.well-known/workflow/v1/tick$", dest: "/.well-known/workflow/v1/tick" },
      { src: "^/\\.well-known/workflow/v1/(.*)$", dest: "/.well-known/workflow/v1/router" },
    ]);
    // The heartbeat: Vercel calls the tick function every minute.
    expect(config.crons).toEqual([{ path: "/.well-known/workflow/v1/tick", schedule: "* * * * *" }]);
    const tick = JSON.parse(readFileSync(project.file(`${TICK}/.vc-config.json`), "utf8"));
    expect(tick).toMatchObject({
      handler: "index.mjs",
      environment: { WORKFLOW_TARGET_WORLD: "vercel", WORKFLOW_VERCEL_HEARTBEAT: "* * * * *" },
    });
    // The function is self-contained: it loads from its own directory with no node_modules around it.
    const probe = await runNode(project, [
      "--input-type=module",
      "-e",
      `const m = await import(${JSON.stringify(project.file(`${FLOW}/index.mjs`))}); console.log(typeof m.POST);`,
    ]);
    expect(probe.stdout.trim()).toBe("function");
  });

  it("refuses a step whose declared timeout exceeds maxDuration, naming it", async () => {
    const other = copyProject("serverless");
    cleanups.push(() => other.cleanup());
    writeFileSync(
      other.file("src/long.ts"),
      'export async function long() {\n  "use step";\n}\nlong.timeout = "10m";\n',
    );
    const built = await runNode(other, [cli(), "build", "--target", "vercel", "--max-duration", "60"], {
      allowFailure: true,
    });
    expect(built.code).toBe(1);
    expect(built.stderr).toMatch(/step\/\/src\/long\.ts\/\/long \(timeout 10m = 600000 ms\)/);
    expect(built.stderr).toMatch(/longer than the 60000 ms/);
  });

  it("drives a run through fresh short-lived invocations that hand off before their budget ends", async () => {
    const sim = await simulate(project, { env: { SERVERLESS_MARKS: project.file("marks-handoff.jsonl") } });
    // 8 steps of 400 ms: 3.2 s of work, more than one 2 s budget.
    const run = await startRun(project, sim, ["8", "400"]);
    expect(run).toMatchObject({ status: "completed", result: 360 });
    await sim.service.idle(20_000);
    const deliveries = sim.service.deliveries;
    expect(deliveries.length).toBeGreaterThanOrEqual(2);
    // No invocation had to be killed: each handed off within its budget.
    expect(deliveries.every((d) => d.status === 200)).toBe(true);
    expect(new Set(marks(project.file("marks-handoff.jsonl")).map((m) => m.pid)).size).toBeGreaterThanOrEqual(
      2,
    );
    expect(await completions(sim.world, run.runId)).toEqual(Array(8).fill(1));
  }, 60_000);

  it("loses nothing when an invocation is killed mid-step: the message comes back and the run completes", async () => {
    const marksFile = project.file("marks-crash.jsonl");
    let killed = false;
    const sim = await simulate(project, {
      env: { SERVERLESS_MARKS: marksFile },
      onSpawn: (child, n) => {
        if (n !== 1) return;
        // Kill the first invocation as soon as its second step's body has started.
        const poll = setInterval(() => {
          if (marks(marksFile).some((m) => m.step === 2 && m.pid === child.pid)) {
            clearInterval(poll);
            killed = child.kill("SIGKILL");
          }
        }, 10);
        child.once("exit", () => clearInterval(poll));
      },
    });
    const run = await startRun(project, sim, ["4", "300"]);
    expect(killed).toBe(true);
    expect(run).toMatchObject({ status: "completed", result: 100 });
    await sim.service.idle(20_000);
    const first = sim.service.deliveries[0]!;
    expect(first.status).toBe("crashed");
    // The same message, delivered again.
    expect(sim.service.deliveries.some((d) => d.messageId === first.messageId && d.deliveryCount === 2)).toBe(
      true,
    );
    // Step 2's body ran again (at least once), its result is recorded once.
    expect(marks(marksFile).filter((m) => m.step === 2).length).toBeGreaterThanOrEqual(2);
    expect(await completions(sim.world, run.runId)).toEqual([1, 1, 1, 1]);
  }, 60_000);

  it("fails a step longer than one invocation's budget with STEP_EXCEEDS_MAX_DURATION, not an endless retry", async () => {
    const sim = await simulate(project);
    const run = await startRun(project, sim, ["1", "5000"]);
    expect(run).toMatchObject({ status: "failed", code: "STEP_EXCEEDS_MAX_DURATION" });
    expect(run.message).toMatch(/did not finish within one invocation/);
    await sim.service.idle(20_000);
    // One invocation decided it, before the platform's kill.
    expect(sim.service.deliveries.map((d) => d.status)).toEqual([200]);
  }, 60_000);

  it("the endpoints function takes a webhook click, whose payload reaches the run through a queue invocation", async () => {
    const marksFile = project.file("marks-webhook.jsonl");
    const sim = await simulate(project, {
      env: { SERVERLESS_MARKS: marksFile, WORKFLOW_BASE_URL: "https://app.example" },
    });
    const started = runNode(project, ["src/start-approval.ts"], { env: sim.env, allowFailure: true });
    let url: string | undefined;
    for (let i = 0; i < 400 && !url; i++) {
      url = (marks(marksFile) as unknown as { url?: string }[]).find((m) => m.url)?.url;
      if (!url) await new Promise((r) => setTimeout(r, 25));
    }
    expect(url).toMatch(/^https:\/\/app\.example\/\.well-known\/workflow\/v1\/webhook\/[^/]+$/);
    // The endpoints function, as built, in its own short-lived process (as Vercel would route the click to it).
    const router = freshProcessInvoker({
      entry: project.file(`${ROUTER}/index.mjs`),
      maxDurationMs: MAX_DURATION_MS,
      cwd: project.dir,
      env: {
        ...JSON.parse(readFileSync(project.file(`${ROUTER}/.vc-config.json`), "utf8")).environment,
        ...sim.functionEnv,
      },
    });
    const click = await router(new Request(url!, { method: "POST", body: "ok" }));
    expect(click.status).toBe(202);
    const result = await started;
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!)).toEqual({
      result: "approved with POST",
      status: "completed",
    });
  }, 60_000);

  it("10 concurrent invocations of one run never record a step twice", async () => {
    const sim = await simulate(project);
    const client = new QueueClient({
      region: "iad1",
      token: sim.service.token,
      resolveBaseUrl: () => new URL(sim.service.url),
      deploymentId: null,
    });
    const started = runNode(project, ["src/start.ts", "5", "150"], { env: sim.env, allowFailure: true });
    // As soon as the run exists, 9 more messages for it: with the start's own, 10 invocations at once.
    let runId: string | undefined;
    for (let i = 0; i < 200 && !runId; i++) {
      runId = (await sim.world.listRuns({ limit: 1 })).items[0]?.runId;
      if (!runId) await new Promise((r) => setTimeout(r, 25));
    }
    expect(runId).toBeDefined();
    await Promise.all(Array.from({ length: 9 }, () => client.send(FLOW_TOPIC, { runId })));
    const result = await started;
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!)).toMatchObject({
      status: "completed",
      result: 150,
    });
    await sim.service.idle(30_000);
    const firstWave = sim.service.deliveries.filter((d) => d.deliveryCount === 1);
    expect(firstWave.length).toBeGreaterThanOrEqual(10);
    expect(await completions(sim.world, runId!)).toEqual([1, 1, 1, 1, 1]);
    // Every message was settled: acknowledged, none left for ever.
    expect(sim.service.sent(FLOW_TOPIC).every((m) => m.acknowledged)).toBe(true);
  }, 120_000);
});

describe("the example apps, unchanged, in simulated serverless mode", () => {
  it("examples/node-basic: the order demo completes through queue invocations", async () => {
    const example = copyIntoTmp(path.resolve(here, "../../examples/node-basic"), "node-basic-vercel");
    cleanups.push(() => example.cleanup());
    const built = await runNode(example, [cli(), "build", "--target", "vercel", "--max-duration", "3"]);
    expect(built.code, built.stderr).toBe(0);
    const sim = await simulate(example, { env: { ORDER_COOLING_OFF: "1s" } });
    const app = await runNode(example, ["src/main.ts"], { env: sim.env, allowFailure: true });
    expect(app.code, app.stdout + app.stderr).toBe(0);
    expect(app.stdout).toMatch(/Run wrun_\w+ completed:/);
    expect(app.stdout).toMatch(/trackingNumber/);
    // The steps ran in the invocations, not in the app.
    expect(app.stdout).not.toMatch(/charged \$/);
    const functionOutput = [...sim.outputs.values()].join("");
    expect(functionOutput).toMatch(/charged \$148\.00 on attempt 3/);
    expect(functionOutput).toMatch(/handed ord_\w+ to the carrier/);
    await sim.service.idle(20_000);
    // The 1 s sleep came back as a delayed message (the 300 ms payment retries were waited for inline).
    expect(sim.service.deliveries.length).toBeGreaterThan(1);
  }, 120_000);
});

describe("examples/next-app on Vercel: next build emits the flow function, the app runs unchanged", () => {
  let app: NextApp;
  let server: NextServer | undefined;
  beforeAll(() => {
    app = copyNextApp();
  });
  afterAll(async () => {
    await server?.stop();
    app?.cleanup();
  });

  it("next build with VERCEL=1 writes Build Output API v3 beside the Next build", {
    timeout: 300_000,
  }, async () => {
    process.env.VERCEL = "1";
    try {
      const output = await runNext(app, ["build"]);
      expect(output).toContain("Next.js 16");
    } finally {
      delete process.env.VERCEL;
    }
    const flow = JSON.parse(readFileSync(app.file(`${FLOW}/.vc-config.json`), "utf8"));
    expect(flow).toMatchObject({
      handler: "index.mjs",
      maxDuration: 300,
      experimentalTriggers: [{ type: "queue/v2beta", topic: FLOW_TOPIC }],
    });
    const manifest = JSON.parse(readFileSync(app.file(`${FLOW}/.workflow/manifest.json`), "utf8"));
    expect(Object.keys(manifest.workflows)).toEqual(["workflow//workflows/signup.ts//signup"]);
    // Next serves /.well-known/workflow/v1/* itself (no router function), except the tick path: the tick
    // function and the heartbeat cron job calling it.
    expect(existsSync(app.file(ROUTER))).toBe(false);
    expect(JSON.parse(readFileSync(app.file(".vercel/output/config.json"), "utf8"))).toEqual({
      version: 3,
      routes: [{ src: "^/\\.well-known/workflow/v1/tick$", dest: "/.well-known/workflow/v1/tick" }],
      crons: [{ path: "/.well-known/workflow/v1/tick", schedule: "* * * * *" }],
    });
    expect(checkBuildOutput(app.file(".vercel/output"))).toEqual([]);
  });

  it("a signup runs through queue invocations: stream, webhook confirmation, result", {
    timeout: 120_000,
  }, async () => {
    const sim = await simulate(app);
    server = await serveNext(app, "start", 60_000, sim.env);
    sim.functionEnv.WORKFLOW_BASE_URL = server.base;
    const session = { cookie: "session=e2e" };
    const started = await fetch(`${server.base}/api/signup`, {
      method: "POST",
      headers: session,
      body: JSON.stringify({ email: "ada@example.com" }),
    });
    expect(started.status, await started.clone().text()).toBe(200);
    const { runId, readToken } = (await started.json()) as { runId: string; readToken: string };
    const events = followRun(server.base, runId, readToken);
    const email = await events.next((e) => e.data?.step === "sendWelcomeEmail");
    const confirmUrl = email.data.confirmUrl as string;
    expect(confirmUrl.startsWith(`${server.base}/.well-known/workflow/v1/webhook/`)).toBe(true);
    expect((await fetch(confirmUrl, { method: "POST" })).status).toBe(202);
    const all = await events.all();
    expect(all.at(-1)).toMatchObject({
      event: "done",
      data: { email: "ada@example.com", confirmedWith: "POST", appUrl: server.base },
    });
    expect((await sim.world.getRun(runId))?.status).toBe("completed");
    // The Next server executed nothing: every step ran in an invocation.
    expect(sim.service.deliveries.length).toBeGreaterThanOrEqual(2);
    expect(await completions(sim.world, runId)).toEqual(expect.arrayContaining([1]));
    expect((await completions(sim.world, runId)).every((n) => n === 1)).toBe(true);
  });
});
