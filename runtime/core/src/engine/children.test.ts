/** Child runs (`start()` in workflow code) and queries (`setQueryHandler`, `run.query()`), on the memory world. */
import { createMemoryWorld, type World } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import { Run } from "../api/run.js";
import { eventTypes, harness, registerStep } from "./__tests__/harness.js";
import type { Engine } from "./engine.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

registerStep("step//./ch//double", async (n: number) => n * 2);
registerStep("step//./ch//boom", async () => {
  throw Object.assign(new Error("child broke"), { code: "BROKEN" });
});
registerStep("step//./ch//slow", async (ms: number) => {
  await new Promise((r) => setTimeout(r, ms));
  return ms;
});

const WORKFLOWS = {
  "workflow//./ch//child": `async function child(n) { return step("step//./ch//double")(n); }`,
  "workflow//./ch//failingChild": `async function failingChild() { await step("step//./ch//boom")(); }`,
  "workflow//./ch//sleepyChild": `async function sleepyChild() { await rt().sleep(60_000); return "woke"; }`,
  "workflow//./ch//parent": `async function parent(n) {
    const a = await rt().startChild("workflow//./ch//child", [n], {});
    const b = await rt().startChild("workflow//./ch//child", [n + 1], {});
    return { ids: [a.runId, b.runId], values: [await a.returnValue, await b.returnValue] };
  }`,
  "workflow//./ch//catches": `async function catches() {
    const c = await rt().startChild("workflow//./ch//failingChild", [], {});
    try { await c.returnValue; return "no error"; }
    catch (e) { return { name: e.name, cause: e.cause && e.cause.message }; }
  }`,
  "workflow//./ch//waitsOnSleepers": `async function waitsOnSleepers(policy) {
    const c = await rt().startChild("workflow//./ch//sleepyChild", [], { parentClosePolicy: policy });
    return c.returnValue;
  }`,
  "workflow//./ch//counter": `async function counter() {
    let count = 0;
    const seen = [];
    rt().setQueryHandler("count", () => count);
    rt().setQueryHandler("seen", (prefix) => seen.map((s) => prefix + s));
    for (const n of [1, 2, 3]) {
      count += await step("step//./ch//double")(n);
      seen.push(n);
    }
    await rt().sleep(60_000);
    return count;
  }`,
};

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("child runs", () => {
  it("a parent starts children, awaits their results durably; each child records its parent", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const run = await h.start<{ ids: string[]; values: number[] }>("workflow//./ch//parent", [5]);
    const result = await run.returnValue;
    expect(result.values).toEqual([10, 12]);
    expect(result.ids).toEqual([`${run.runId}_c1`, `${run.runId}_c2`]);
    for (const id of result.ids) {
      const child = (await h.world.getRun(id))!;
      expect(child.status).toBe("completed");
      expect(child.metadata).toMatchObject({ parent: { runId: run.runId, parentClosePolicy: "cancel" } });
    }
    // Each child's end is applied once (a second report of the same end may be recorded, and is ignored).
    const received = (await h.world.readEvents(run.runId)).filter((e) => e.type === "hook_received");
    expect(new Set(received.map((e) => e.data!.deliveryId))).toEqual(
      new Set(result.ids.map((id) => `child_end_${id}`)),
    );
    // A fresh process replays the parent without starting anything again.
    const fresh = h.newEngine();
    engines.push(fresh);
    expect(await new Run(run.runId, fresh).returnValue).toEqual(result);
    expect((await h.world.listRuns()).items).toHaveLength(3);
  });

  it("a child's failure reaches the parent as WorkflowRunFailedError with the child's error as cause", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const run = await h.start("workflow//./ch//catches");
    expect(await run.returnValue).toEqual({ name: "WorkflowRunFailedError", cause: "child broke" });
  });

  it("cancelling a parent cancels its children down the tree; abandon leaves them running", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const cancelling = await h.start("workflow//./ch//waitsOnSleepers", ["cancel"]);
    const abandoning = await h.start("workflow//./ch//waitsOnSleepers", ["abandon"]);
    const childOf = (r: Run) => `${r.runId}_c1`;
    await until(async () => (await h.world.getRun(childOf(cancelling)))?.status === "running");
    await until(async () => (await h.world.getRun(childOf(abandoning)))?.status === "running");
    await cancelling.cancel({ reason: "stop" });
    await abandoning.cancel();
    await until(async () => (await h.world.getRun(childOf(cancelling)))?.status === "cancelled");
    expect((await h.world.getRun(childOf(cancelling)))!.cancelReason).toMatch(
      /parent run .* ended \(cancelled\)/,
    );
    expect((await h.world.getRun(childOf(abandoning)))!.status).toBe("running");
  });

  it("a crash between creating the child and recording it starts the child once", async () => {
    const world = createMemoryWorld();
    let hang = true;
    // The first executor's process "dies" right after the child run is created: its createRun never answers.
    const stalling = new Proxy(world, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (key === "createRun") {
          return async (input: { runId?: string }) => {
            const result = await (value as World["createRun"]).call(target, input as never);
            if (hang && input.runId?.endsWith("_c1")) await new Promise(() => {});
            return result;
          };
        }
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as World;
    const first = harness(WORKFLOWS, { world: stalling, leaseTtlMs: 200, sweepIntervalMs: false });
    engines.push(first.engine);
    const run = await first.start<{ values: number[] }>("workflow//./ch//parent", [1]);
    await until(async () => (await world.getRun(`${run.runId}_c1`)) !== undefined);
    first.engine.close();
    hang = false;
    const second = first.newEngine({ world, sweepIntervalMs: 100 });
    engines.push(second);
    await second.world();
    expect((await new Run<{ values: number[] }>(run.runId, second).returnValue).values).toEqual([2, 4]);
    expect((await world.listRuns()).items).toHaveLength(3);
  });
});

describe("queries", () => {
  it("answers from the live instance and from a replay in another process; unknown names are named errors", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const run = await h.start("workflow//./ch//counter");
    await until(async () => (await eventTypes(h.world, run.runId)).includes("wait_created:wait_0004"));
    expect(await run.query("count")).toBe(12);
    expect(await run.query("seen", "n")).toEqual(["n1", "n2", "n3"]);
    const other = h.newEngine({ executeRuns: false });
    engines.push(other);
    expect(await new Run(run.runId, other).query("count")).toBe(12);
    await expect(run.query("missing")).rejects.toMatchObject({
      name: "QueryNotFoundError",
      queryName: "missing",
      available: ["count", "seen"],
    });
    // Nothing was recorded by asking.
    expect((await eventTypes(h.world, run.runId)).at(-1)).toBe("wait_created:wait_0004");
  });
});
