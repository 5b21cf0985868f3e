/**
 * WDK's `@workflow/ai` package, installed from npm and used unchanged: a `DurableAgent` whose tools are steps, a
 * mock model from `@workflow/ai/test`, UI message chunks streamed through `getWritable()`, and the process killed
 * with SIGKILL inside a tool call, on the local world and on the Postgres world.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, type Project, resultOf, runNode, spawnNode } from "./support/process.js";
import { worldEnv } from "./support/world-setups.js";

const wf = fileURLToPath(new URL("../../packages/workflow/bin/wf.js", import.meta.url));

describe.each(["local", "postgres"] as const)("@workflow/ai DurableAgent on the %s world", (worldName) => {
  let project: Project;
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    project = copyProject("wdk-ai-agent");
    const world = await worldEnv(worldName, project);
    cleanup = world.cleanup;
    // A short lease, so the takeover of the killed process's run happens within seconds.
    env = { ...world.env, AGENT_LEDGER: project.file("ledger.txt"), WORKFLOW_LEASE_TTL_MS: "1500" };
  });
  afterAll(async () => {
    await cleanup();
    project.cleanup();
  });

  const ledger = () => readFileSync(project.file("ledger.txt"), "utf8").trim().split("\n");

  const expectAnswered = (result: any) => {
    expect(result.status).toBe("completed");
    // Two tool rounds and the final answer, in the AI SDK's message shapes.
    expect(result.value).toEqual({
      steps: 3,
      text: "Paris is sunny, 68°F.",
      roles: ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"],
    });
    const chunks: Array<{ type: string; [k: string]: unknown }> = result.chunks;
    const types = chunks.map((c) => c.type);
    expect(types[0]).toBe("start");
    expect(types.at(-1)).toBe("finish");
    expect(chunks.filter((c) => c.type === "tool-input-available")).toEqual([
      expect.objectContaining({ toolName: "getWeather", input: { city: "Paris" } }),
      expect.objectContaining({ toolName: "convert", input: { celsius: 20 } }),
    ]);
    expect(chunks.filter((c) => c.type === "tool-output-available").map((c) => c.output)).toEqual([
      "Weather in Paris is sunny",
      { fahrenheit: 68 },
    ]);
    // A tool step wrote its own data part to the same stream, between the tool's input and output.
    const progress = chunks.findIndex((c) => c.type === "data-weather-progress");
    expect(chunks[progress]).toEqual({
      type: "data-weather-progress",
      id: "call-1-progress",
      data: { city: "Paris", status: "done" },
    });
    expect(progress).toBeGreaterThan(types.indexOf("tool-input-available"));
    expect(progress).toBeLessThan(types.indexOf("tool-output-available"));
    expect(chunks.filter((c) => c.type === "text-delta").map((c) => c.delta)).toEqual([
      "Paris is sunny, 68°F.",
    ]);
  };

  it("streams UIMessageChunks through tool calls to the answer", async () => {
    const result = resultOf(
      await runNode(project, ["src/run.ts", "start", "How is the weather in Paris?"], { env }),
    );
    expectAnswered(result);
    expect(ledger()).toEqual(["getWeather:Paris:1", "convert:20"]);
  }, 60_000);

  it("workflow-level tools: one sleeps durably, one waits for a human through a defineHook() hook", async () => {
    const out = await runNode(project, ["src/run.ts", "book", "Book me AF12"], { env });
    const result = resultOf(out);
    expect(result.value).toEqual({ steps: 3, text: "Your flight is booked." });
    // The hook exists only once the sleeping tool has finished.
    expect(Number(/HOOK_AFTER_MS (\d+)/.exec(out.stdout)![1])).toBeGreaterThanOrEqual(900);
    expect(result.chunks.filter((c: { type: string }) => c.type === "tool-output-available")).toEqual([
      expect.objectContaining({ toolCallId: "call-1", output: "waited 1s" }),
      expect.objectContaining({
        toolCallId: "call-2",
        output: "Booking approved for Ada on flight AF12 - window seat",
      }),
    ]);
  }, 60_000);

  it("wf build bundles the package's steps: plain node runs the agent from the build alone", async () => {
    writeFileSync(project.file("ledger.txt"), "");
    const build = spawnSync(process.execPath, [wf, "build"], { cwd: project.dir, encoding: "utf8" });
    expect(build.status, build.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(project.file(".workflow/manifest.json"), "utf8"));
    expect(Object.keys(manifest.steps)).toContain(
      "step//@workflow/ai@5.0.0/dist/agent/do-stream-step.js//doStreamStep",
    );
    // Without the sources, only the bundles can run it.
    renameSync(project.file("src"), project.file("src-hidden"));
    try {
      const ran = spawnSync(process.execPath, ["run-built.mjs", "Weather?"], {
        cwd: project.dir,
        encoding: "utf8",
        env: { ...process.env, ...env },
        timeout: 60_000,
      });
      expectAnswered(resultOf({ code: ran.status, stdout: ran.stdout, stderr: ran.stderr }));
      expect(ledger()).toEqual(["getWeather:Paris:1", "convert:20"]);
    } finally {
      renameSync(project.file("src-hidden"), project.file("src"));
    }
  }, 90_000);

  it("resumes after a SIGKILL inside a tool call: the steps after the interrupted tool run once, the stream is whole", async () => {
    writeFileSync(project.file("ledger.txt"), "");
    const release = project.file("release");
    const first = spawnNode(project, ["src/run.ts", "start", "And now?"], { ...env, AGENT_RELEASE: release });
    const runId = (await first.waitForLine(/^RUN /, 30_000)).slice(4);
    await first.waitForLine(/^TOOL_STARTED getWeather/, 30_000);
    first.child.kill("SIGKILL");
    await first.done;
    writeFileSync(release, "go");
    const second = resultOf(
      await runNode(project, ["src/run.ts", "await", runId], { env: { ...env, AGENT_RELEASE: release } }),
    );
    expectAnswered(second);
    // The interrupted tool ran again (at least once semantics), everything after it once.
    expect(ledger()).toEqual(["getWeather:Paris:1", "getWeather:Paris:2", "convert:20"]);
  }, 90_000);
});
