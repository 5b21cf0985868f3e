import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FLOW_FUNCTION, ROUTER_FUNCTION, VERCEL_FLOW_TOPIC, writeVercelDeployment } from "./vercel-output.js";

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
    const framework = { version: 3, routes: [{ handle: "filesystem" }], framework: { version: "1.0.0" } };
    writeFileSync(path.join(dir, ".vercel/output/config.json"), JSON.stringify(framework));
    const result = await writeVercelDeployment({ projectRoot: dir, maxDuration: 60 });
    expect(result.config).toEqual({
      version: 3,
      framework: { version: "1.0.0" },
      routes: [
        { src: "^/\\.well-known/workflow/v1/(.*)$", dest: `/${ROUTER_FUNCTION}` },
        { handle: "filesystem" },
      ],
    });
    const flow = JSON.parse(
      readFileSync(path.join(dir, `.vercel/output/functions/${FLOW_FUNCTION}.func/.vc-config.json`), "utf8"),
    );
    expect(flow.experimentalTriggers[0].topic).toBe(VERCEL_FLOW_TOPIC);
    expect(flow.environment.WORKFLOW_STEP_BUDGET_MS).toBe("60000");

    // Built again without endpoints: the router and its route are gone, the framework's route stays.
    const again = await writeVercelDeployment({ projectRoot: dir, endpoints: false });
    expect(again.config.routes).toEqual([{ handle: "filesystem" }]);
    expect(again.functions).toEqual([`functions/${FLOW_FUNCTION}.func`]);
    expect(existsSync(path.join(dir, `.vercel/output/functions/${ROUTER_FUNCTION}.func`))).toBe(false);
  }, 60_000);

  it("refuses bad options and a config.json of another Build Output version", async () => {
    const dir = project();
    await expect(writeVercelDeployment({ projectRoot: dir, maxDuration: 0 })).rejects.toThrow(/maxDuration/);
    await expect(writeVercelDeployment({ projectRoot: dir, runtime: "node" })).rejects.toThrow(/nodejs22\.x/);
    mkdirSync(path.join(dir, ".vercel/output"), { recursive: true });
    writeFileSync(path.join(dir, ".vercel/output/config.json"), '{"version":2}');
    await expect(writeVercelDeployment({ projectRoot: dir })).rejects.toThrow(/version 2; only version 3/);
  }, 60_000);
});
