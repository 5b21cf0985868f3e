import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  FLOW_FUNCTION,
  ROUTER_FUNCTION,
  TICK_FUNCTION,
  VERCEL_FLOW_TOPIC,
  writeVercelDeployment,
} from "./vercel-output.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A project outside the workspace: the runtime packages resolve from the builder's own location (as with pnpm). */
function project(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "wf-vercel-"));
  dirs.push(dir);
  writeFileSync(path.join(dir, "package.json"), '{"name":"wf-vercel-unit","type":"module"}');
  mkdirSync(path.join(dir, "src"));
  writeFileSync(
    path.join(dir, "src/flow.ts"),
    'export async function flow() {\n  "use workflow";\n  return await one();\n}\nasync function one() {\n  "use step";\n  return 1;\n}\n',
  );
  return dir;
}

describe("writeVercelDeployment", () => {
  it("keeps what a framework already wrote to config.json, with its route first; endpoints: false adds none", async () => {
    const dir = project();
    mkdirSync(path.join(dir, ".vercel/output"), { recursive: true });
    const framework = {
      version: 3,
      routes: [{ handle: "filesystem" }],
      framework: { version: "1.0.0" },
      crons: [{ path: "/api/nightly", schedule: "0 3 * * *" }],
    };
    writeFileSync(path.join(dir, ".vercel/output/config.json"), JSON.stringify(framework));
    const result = await writeVercelDeployment({ projectRoot: dir, maxDuration: 60 });
    expect(result.config).toEqual({
      version: 3,
      framework: { version: "1.0.0" },
      routes: [
        // The tick path before the catch-all of the endpoints function.
        { src: "^/\\.well-known/workflow/v1/tick$", dest: `/${TICK_FUNCTION}` },
        { src: "^/\\.well-known/workflow/v1/(.*)$", dest: `/${ROUTER_FUNCTION}` },
        { handle: "filesystem" },
      ],
      // The app's own cron job stays; the heartbeat calls the tick function every minute.
      crons: [
        { path: "/api/nightly", schedule: "0 3 * * *" },
        { path: `/${TICK_FUNCTION}`, schedule: "* * * * *" },
      ],
    });
    const tick = JSON.parse(
      readFileSync(path.join(dir, `.vercel/output/functions/${TICK_FUNCTION}.func/.vc-config.json`), "utf8"),
    );
    expect(tick).toMatchObject({
      handler: "index.mjs",
      environment: { WORKFLOW_TARGET_WORLD: "vercel", WORKFLOW_VERCEL_HEARTBEAT: "* * * * *" },
    });
    expect(tick.experimentalTriggers).toBeUndefined();
    const flow = JSON.parse(
      readFileSync(path.join(dir, `.vercel/output/functions/${FLOW_FUNCTION}.func/.vc-config.json`), "utf8"),
    );
    expect(flow.experimentalTriggers[0].topic).toBe(VERCEL_FLOW_TOPIC);
    expect(flow.environment.WORKFLOW_STEP_BUDGET_MS).toBe("60000");

    // Built again without endpoints and another heartbeat: the router and its route are gone, our cron job is
    // replaced rather than added, the framework's route and cron job stay.
    const again = await writeVercelDeployment({
      projectRoot: dir,
      endpoints: false,
      heartbeat: "*/5 * * * *",
    });
    expect(again.config.routes).toEqual([
      { src: "^/\\.well-known/workflow/v1/tick$", dest: `/${TICK_FUNCTION}` },
      { handle: "filesystem" },
    ]);
    expect(again.config.crons).toEqual([
      { path: "/api/nightly", schedule: "0 3 * * *" },
      { path: `/${TICK_FUNCTION}`, schedule: "*/5 * * * *" },
    ]);
    expect(again.functions).toEqual([`functions/${FLOW_FUNCTION}.func`, `functions/${TICK_FUNCTION}.func`]);
    expect(existsSync(path.join(dir, `.vercel/output/functions/${ROUTER_FUNCTION}.func`))).toBe(false);

    // heartbeat: false: no tick function, no route, no cron job of ours.
    const none = await writeVercelDeployment({ projectRoot: dir, endpoints: false, heartbeat: false });
    expect(none.config.routes).toEqual([{ handle: "filesystem" }]);
    expect(none.config.crons).toEqual([{ path: "/api/nightly", schedule: "0 3 * * *" }]);
    expect(existsSync(path.join(dir, `.vercel/output/functions/${TICK_FUNCTION}.func`))).toBe(false);
  }, 60_000);

  it("refuses bad options and a config.json of another Build Output version", async () => {
    const dir = project();
    await expect(writeVercelDeployment({ projectRoot: dir, maxDuration: 0 })).rejects.toThrow(/maxDuration/);
    await expect(writeVercelDeployment({ projectRoot: dir, runtime: "node" })).rejects.toThrow(/nodejs22\.x/);
    // Vercel reads five fields: a seconds field would fail the deployment, so it fails the build.
    await expect(writeVercelDeployment({ projectRoot: dir, heartbeat: "*/10 * * * * *" })).rejects.toThrow(
      /heartbeat must be a cron expression of five fields/,
    );
    mkdirSync(path.join(dir, ".vercel/output"), { recursive: true });
    writeFileSync(path.join(dir, ".vercel/output/config.json"), '{"version":2}');
    await expect(writeVercelDeployment({ projectRoot: dir })).rejects.toThrow(/version 2; only version 3/);
  }, 60_000);
});
