/**
 * `wf schedules …` and `wf emit` against the local and Postgres worlds: the app (an executing engine on its own world
 * instance) fires the ticks and runs what events start; `wf` opens the world per command, as another process would.
 */
import { schedule } from "@wfkit/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type OperatorApp, registerStep, startApp } from "./__tests__/operator-app.js";
import { runWf } from "./__tests__/run-wf.js";

registerStep("step//./sch//note", async (v: unknown) => v);

const WORKFLOWS = {
  "workflow//./sch//job": `async function job(label) { return step("step//./sch//note")(label); }`,
  "workflow//./sch//waiter": `async function waiter() {
    const e = await rt().waitForEvent("deploy.done", { key: "web" });
    return e.data;
  }`,
};

describe.each(["local", "postgres"] as const)("wf schedules and wf emit on the %s world", (kind) => {
  let app: OperatorApp;
  const wf = (...args: string[]) => runWf([...args, ...app.flags]);

  beforeAll(async () => {
    app = await startApp(kind, WORKFLOWS);
  });
  afterAll(async () => {
    await app?.close();
  });

  it("lists, pauses, resumes, triggers and deletes a schedule", async () => {
    expect((await wf("schedules", "ls")).stdout).toMatch(/No schedules/);
    const store = app.world;
    await schedule("hourly-report", "workflow//./sch//job", {
      cron: "0 * * * *",
      timezone: "Europe/Berlin",
      args: ["report"],
      world: app.world,
    });
    const ls = await wf("schedules", "ls");
    expect(ls.exitCode).toBe(0);
    expect(ls.stdout).toMatch(/NAME\s+WORKFLOW\s+CRON/);
    expect(ls.stdout).toMatch(/hourly-report\s+job\s+0 \* \* \* \*\s+Europe\/Berlin\s+active\s+skip\/latest/);

    expect((await wf("schedules", "pause", "hourly-report")).stdout).toBe("Schedule hourly-report paused.\n");
    expect((await store.getSchedule!("hourly-report"))!.paused).toBe(true);
    const listed = JSON.parse((await wf("schedules", "ls", "--json")).stdout);
    expect(listed).toEqual([expect.objectContaining({ name: "hourly-report", paused: true })]);
    expect((await wf("schedules", "resume", "hourly-report")).stdout).toBe(
      "Schedule hourly-report resumed.\n",
    );
    expect((await store.getSchedule!("hourly-report"))!.paused).toBe(false);

    const triggered = await wf("schedules", "trigger", "hourly-report", "--json");
    const { runId } = JSON.parse(triggered.stdout) as { runId: string };
    await eventually(
      () => app.world.getRun(runId),
      (r) => r?.status === "completed",
    );
    expect((await app.world.getRun(runId))!.metadata).toMatchObject({
      schedule: { name: "hourly-report", manual: true },
    });

    expect((await wf("schedules", "delete", "hourly-report")).stdout).toMatch(
      /Schedule hourly-report deleted/,
    );
    const again = await wf("schedules", "delete", "hourly-report");
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/no schedule is named "hourly-report"/);
    const missing = await wf("schedules", "pause", "hourly-report");
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/No schedule is named "hourly-report"/);
  });

  it("emits an event to a waiting run, by key; refuses bad JSON", async () => {
    const runId = await app.engine.start("workflow//./sch//waiter", []);
    await eventually(
      () => app.world.listHooksByTokenPrefix!("wfevent:deploy.done="),
      (hooks) => hooks.length === 1,
    );
    const other = await wf("emit", "deploy.done", '{"v":0}', "--key", "api", "--json");
    expect(JSON.parse(other.stdout)).toMatchObject({ delivered: [], started: [] });
    const sent = await wf("emit", "deploy.done", '{"v":2}', "--key", "web", "--id", "d-2");
    expect(sent.stdout).toBe("Emitted deploy.done (d-2): delivered to 1 waiting run(s), started 0 run(s).\n");
    await eventually(
      () => app.world.getRun(runId),
      (r) => r?.status === "completed",
    );
    expect((await app.world.getRun(runId))!.output).toContain('"v"');
    const bad = await wf("emit", "deploy.done", "{oops");
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/wf emit: dataJson must be JSON/);
  });
});
