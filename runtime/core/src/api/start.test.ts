import { createMemoryWorld } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { registerStep, TestCode } from "../engine/__tests__/harness.js";
import { WorkflowRunNotFoundError } from "../sandbox/run-errors.js";
import { getHookByToken, resumeHook } from "./hooks.js";
import { configureRuntime, getEngine } from "./runtime-config.js";
import { getRun, start } from "./start.js";

describe("start()", () => {
  it("runs a workflow function on the configured runtime and reports its result and times", async () => {
    registerStep("step//./a//double", async (x: number) => x * 2);
    const code = new TestCode({
      "workflow//./a//double": `async function double(x) { return step("step//./a//double")(x); }`,
    });
    configureRuntime({ world: createMemoryWorld(), codeProvider: code });
    const wf = Object.assign(async (_x: number): Promise<number> => 0, {
      workflowId: "workflow//./a//double",
    });
    const run = await start(wf, [21]);
    await expect(run.returnValue).resolves.toBe(42);
    await expect(getRun<number>(run.runId).returnValue).resolves.toBe(42);
    expect(await run.status).toBe("completed");
    expect(await run.workflowName).toBe("workflow//./a//double");
    expect(await run.startedAt).toBeInstanceOf(Date);
    getEngine().close();
  });

  it("refuses a function that is not a workflow and says how to fix it", async () => {
    async function plain() {}
    await expect(start(plain)).rejects.toThrow(
      /"plain" is not a workflow function \(it has no workflowId\)\. Put the directive "use workflow"/,
    );
  });

  it("refuses arguments that are not an array", async () => {
    const wf = Object.assign(async (_x: number) => 0, { workflowId: "workflow//./a//wf" });
    await expect(start(wf, 5 as never, { world: createMemoryWorld() })).rejects.toThrow(
      /args must be an array/,
    );
  });

  it("reports an unknown run as WorkflowRunNotFoundError", async () => {
    configureRuntime({ world: createMemoryWorld() });
    const run = getRun("wrun_missing");
    await expect(run.status).rejects.toBeInstanceOf(WorkflowRunNotFoundError);
    await expect(run.returnValue).rejects.toThrow(/No workflow run with ID "wrun_missing"/);
    getEngine().close();
  });

  it("leaves a run it has no workflow code for to a process that has it, and says so once", async () => {
    const warnings: unknown[] = [];
    try {
      const world = createMemoryWorld();
      configureRuntime({
        world,
        codeProvider: undefined,
        onError: () => {},
        logger: (record) => {
          if (record.level === "warn") warnings.push(record.msg);
        },
      });
      const wf = Object.assign(async () => 1, { workflowId: "workflow//./a//nocode" });
      const engine = getEngine();
      const run = await start(wf);
      await start(wf);
      // Nothing recorded a failure and nobody took the run: it waits for an executor.
      await new Promise((r) => setTimeout(r, 50));
      expect(await run.status).toBe("pending");
      expect((await world.readEvents(run.runId)).map((e) => e.type)).toEqual(["run_created"]);
      expect(await world.acquireLease(run.runId, "someone-else", 1_000)).toBeDefined();
      expect(warnings).toHaveLength(1);
      expect(String(warnings[0])).toMatch(
        /no workflow code, so the runs it starts wait for a process that has it/,
      );
      engine.close();
    } finally {
      configureRuntime({ logger: undefined });
    }
  });
});

describe("IDs that cannot exist", () => {
  it("a run ID or hook token with a NUL character is not found (and never reaches the world)", async () => {
    const world = createMemoryWorld();
    const touched: string[] = [];
    const spy = new Proxy(world, {
      get(target, key) {
        const value = Reflect.get(target, key);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (args.some((a) => typeof a === "string" && a.includes("\u0000"))) touched.push(String(key));
          return value.apply(target, args);
        };
      },
    });
    configureRuntime({ world: spy });
    const run = getRun("wrun_\u0000");
    await expect(run.status).rejects.toBeInstanceOf(WorkflowRunNotFoundError);
    await expect(run.returnValue).rejects.toBeInstanceOf(WorkflowRunNotFoundError);
    await expect(run.cancel()).rejects.toBeInstanceOf(WorkflowRunNotFoundError);
    await expect(getHookByToken("tok\u0000")).rejects.toMatchObject({ name: "HookNotFoundError" });
    await expect(resumeHook("tok\u0000", 1)).rejects.toMatchObject({ name: "HookNotFoundError" });
    const wf = Object.assign(async () => 1, { workflowId: "workflow//./a//wf" });
    await expect(start(wf, [], { runId: "a\u0000b" })).rejects.toThrow(
      /runId must be a string of 1-200 characters/,
    );
    expect(touched).toEqual([]);
    getEngine().close();
  });
});
