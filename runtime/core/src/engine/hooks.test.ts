import { createMemoryWorld } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import { getHookByToken, resumeHook } from "../api/hooks.js";
import { HookNotFoundError } from "../sandbox/hook-errors.js";
import { WorkflowRunCancelledError } from "../sandbox/run-errors.js";
import { eventTypes, harness, registerStep } from "./__tests__/harness.js";
import type { Engine } from "./engine.js";

const engines: Engine[] = [];
function track<T extends { engine: Engine }>(h: T): T {
  engines.push(h.engine);
  return h;
}
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

registerStep("step//./h//delay", (v: unknown, ms: number) => new Promise((r) => setTimeout(() => r(v), ms)));
registerStep("step//./h//echo", async (v: unknown) => v);

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The token of the run's only (or `index`th) hook, once it is recorded. */
async function tokenOf(
  h: { world: import("@wfkit/world").World },
  runId: string,
  index = 0,
): Promise<string> {
  let token: string | undefined;
  await waitFor(async () => {
    token = (await h.world.listHooks(runId))[index]?.token;
    return token !== undefined;
  });
  return token!;
}

async function waitForHolder(h: { engine: Engine }, token: string): Promise<string> {
  let holder: string | undefined;
  await waitFor(async () => {
    holder = (await getHookByToken(token, h.engine).catch(() => undefined))?.runId;
    return holder !== undefined;
  });
  return holder!;
}

describe("createHook", () => {
  it("yields the next payload to `await hook` and records created/received events", async () => {
    const h = track(
      harness({
        "workflow//./h//one": `async function one() {
          const hook = rt().createHook({ metadata: { purpose: "approval" } });
          const payload = await hook;
          return { payload, token: hook.token };
        }`,
      }),
    );
    const run = await h.start<{ payload: unknown; token: string }>("workflow//./h//one");
    const token = await tokenOf(h, run.runId);
    // At least 128 random bits: 24 random bytes in base64url after the prefix.
    expect(token).toMatch(/^whk_[A-Za-z0-9_-]{32}$/);
    const info = await getHookByToken(token, h.engine);
    expect(info).toMatchObject({ runId: run.runId, hookId: "hook_0001", kind: "hook" });
    expect(info.metadata).toEqual({ purpose: "approval" });
    const resumed = await resumeHook(token, { approved: true, at: new Date(5) }, h.engine);
    expect(resumed.runId).toBe(run.runId);
    await expect(run.returnValue).resolves.toEqual({ payload: { approved: true, at: new Date(5) }, token });
    expect(await eventTypes(h.world, run.runId)).toEqual([
      "run_created",
      "run_started",
      "hook_created:hook_0001",
      "hook_received:hook_0001",
      "run_completed",
    ]);
  });

  it("generates a different token for every hook", async () => {
    const h = track(
      harness({
        "workflow//./h//many": `async function many() {
          const tokens = [];
          for (let i = 0; i < 20; i++) { const hk = rt().createHook(); tokens.push(hk.token); hk.dispose(); }
          return tokens;
        }`,
      }),
    );
    const run = await h.start<string[]>("workflow//./h//many");
    const tokens = await run.returnValue;
    expect(new Set(tokens).size).toBe(20);
  });

  it("queues payloads that arrive before the workflow awaits, and `for await` yields them all in order", async () => {
    const h = track(
      harness({
        "workflow//./h//loop": `async function loop() {
          const hook = rt().createHook();
          await step("step//./h//delay")("busy", 80);
          const seen = [];
          for await (const p of hook) {
            seen.push(p);
            if (p === "stop") hook.dispose();
          }
          return seen;
        }`,
      }),
    );
    const run = await h.start<string[]>("workflow//./h//loop");
    const token = await tokenOf(h, run.runId);
    // Delivered while the step runs: through the live run's own group commit, so the step runs once.
    await resumeHook(token, "a", h.engine);
    await resumeHook(token, "b", h.engine);
    await waitFor(async () => (await h.world.listSteps(run.runId))[0]?.status === "completed");
    await resumeHook(token, "c", h.engine);
    await resumeHook(token, "stop", h.engine);
    await expect(run.returnValue).resolves.toEqual(["a", "b", "c", "stop"]);
    expect(h.engine.stats.stepAttempts).toBe(1);
    const types = await eventTypes(h.world, run.runId);
    expect(types.at(-2)).toBe("hook_disposed:hook_0001");
  });

  it("hands a replayed createHook() the token its first execution recorded", async () => {
    const h = track(
      harness(
        {
          "workflow//./h//replay": `async function replay() {
          const hook = rt().createHook();
          const first = await hook;
          const second = await hook;
          return { token: hook.token, got: [first, second] };
        }`,
        },
        // The first engine stops as if its process died; a short lease lets the second take over quickly.
        { leaseTtlMs: 200 },
      ),
    );
    const run = await h.start<{ token: string; got: string[] }>("workflow//./h//replay");
    const token = await tokenOf(h, run.runId);
    await resumeHook(token, "one", h.engine);
    await waitFor(async () => (await eventTypes(h.world, run.runId)).length === 4);
    // A fresh process: the log is replayed into a new sandbox.
    const other = h.newEngine();
    engines.push(other);
    h.engine.close();
    await resumeHook(token, "two", other);
    const result = await new (await import("../api/run.js")).Run<{ token: string; got: string[] }>(
      run.runId,
      other,
    ).returnValue;
    expect(result).toEqual({ token, got: ["one", "two"] });
    expect(other.stats.replays).toBe(1);
  });

  it("refuses a second live hook with the same token with HookConflictError, and frees the token on dispose", async () => {
    const h = track(
      harness({
        "workflow//./h//holder": `async function holder(token) {
          const hook = rt().createHook({ token });
          const p = await hook;
          hook.dispose();
          return p;
        }`,
        "workflow//./h//taker": `async function taker(token) {
          const hook = rt().createHook({ token });
          try { await hook; return "delivered"; }
          catch (e) { return { name: e.name, code: e.code, message: e.message }; }
        }`,
        "workflow//./h//twice": `async function twice() {
          const a = rt().createHook({ token: "same-run" });
          const b = rt().createHook({ token: "same-run" });
          try { await b; } catch (e) { a.dispose(); return e.code; }
        }`,
      }),
    );
    const holder = await h.start("workflow//./h//holder", ["order-1"]);
    await tokenOf(h, holder.runId);
    const taker = await h.start("workflow//./h//taker", ["order-1"]);
    const refused = (await taker.returnValue) as { name: string; code: string; message: string };
    expect(refused).toMatchObject({ name: "HookConflictError", code: "HOOK_CONFLICT" });
    expect(refused.message).toContain(holder.runId);
    expect((await getHookByToken("order-1", h.engine)).runId).toBe(holder.runId);

    const twice = await h.start("workflow//./h//twice");
    await expect(twice.returnValue).resolves.toBe("HOOK_CONFLICT");

    await resumeHook("order-1", "go", h.engine);
    await expect(holder.returnValue).resolves.toBe("go");
    await expect(getHookByToken("order-1", h.engine)).rejects.toBeInstanceOf(HookNotFoundError);
    const again = await h.start("workflow//./h//holder", ["order-1"]);
    await tokenOf(h, again.runId);
    await resumeHook("order-1", "again", h.engine);
    await expect(again.returnValue).resolves.toBe("again");
  });

  it("separates two runs racing for one token: exactly one gets it, the other sees HookConflictError", async () => {
    // Both runs find the token free, the world's append refuses one of them, and that run is driven again
    // from its log and records the refusal.
    const memory = createMemoryWorld();
    // Token lookups wait for each other in pairs and then report the token free, as a lagging replica would.
    let lagging = 0;
    const parked: (() => void)[] = [];
    let refused = 0;
    const world = new Proxy(memory, {
      get(target, prop) {
        if (prop === "append") {
          return (...args: Parameters<typeof memory.append>) =>
            target.append(...args).catch((error) => {
              if (error.code === "HOOK_TOKEN_CONFLICT") refused++;
              throw error;
            });
        }
        if (prop === "getHookByToken" && lagging > 0) {
          return async () => {
            lagging--;
            await new Promise<void>((resolve) => {
              parked.push(resolve);
              if (lagging === 0) for (const release of parked.splice(0)) release();
            });
            return undefined;
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const h = track(
      harness(
        {
          "workflow//./h//racer": `async function racer(token) {
            const hook = rt().createHook({ token });
            try { return "got " + (await hook); }
            catch (e) { return e.code; }
          }`,
        },
        { world },
      ),
    );
    for (let round = 0; round < 3; round++) {
      const token = `raced-${round}`;
      lagging = 2;
      const [a, b] = await Promise.all([
        h.start<string>("workflow//./h//racer", [token]),
        h.start<string>("workflow//./h//racer", [token]),
      ]);
      await waitFor(() => lagging === 0);
      const holder = await waitForHolder(h, token);
      // The refused run records its refusal when it is driven again (a moment later); resuming the holder
      // before that would end its run and free the token for the other one.
      await waitFor(
        async () => (await h.world.getRun(holder === a.runId ? b.runId : a.runId))?.status === "completed",
      );
      await resumeHook(token, "it", h.engine);
      const results = await Promise.all([a.returnValue, b.returnValue]);
      expect(results.sort()).toEqual(["HOOK_CONFLICT", "got it"]);
      expect([a.runId, b.runId]).toContain(holder);
    }
    expect(refused).toBe(3);
  });

  it("gives a typed not-found error for unknown tokens and tokens of finished runs", async () => {
    const h = track(
      harness({
        "workflow//./h//leave": `async function leave() { rt().createHook({ token: "left-behind" }); await step("step//./h//echo")(1); return "done"; }`,
      }),
    );
    await expect(resumeHook("nobody-has-this", 1, h.engine)).rejects.toBeInstanceOf(HookNotFoundError);
    await expect(resumeHook("nobody-has-this", 1, h.engine)).rejects.toThrow(/No live hook has the token/);
    const run = await h.start("workflow//./h//leave");
    await expect(run.returnValue).resolves.toBe("done");
    // The run ended with the hook never disposed: the token is free (the world released it).
    await expect(resumeHook("left-behind", 1, h.engine)).rejects.toMatchObject({ code: "HOOK_NOT_FOUND" });
  });

  it("stops a hook-waiting run at once on cancel and frees its tokens", async () => {
    const h = track(
      harness({
        "workflow//./h//waiter": `async function waiter() { await rt().createHook({ token: "cancel-me" }); return "never"; }`,
      }),
    );
    const run = await h.start("workflow//./h//waiter");
    await tokenOf(h, run.runId);
    await run.cancel({ reason: "obsolete" });
    const error = await run.returnValue.catch((e) => e);
    expect(error).toBeInstanceOf(WorkflowRunCancelledError);
    expect(error.reason).toBe("obsolete");
    await expect(getHookByToken("cancel-me", h.engine)).rejects.toBeInstanceOf(HookNotFoundError);
    await expect(resumeHook("cancel-me", 1, h.engine)).rejects.toBeInstanceOf(HookNotFoundError);
  });

  it("explains that createHook belongs in workflow code and resumeHook outside it", async () => {
    const { hostRuntime } = await import("./host-runtime.js");
    expect(() => hostRuntime.createHook()).toThrow(/belongs in a "use workflow" function/);
    const h = track(
      harness({
        "workflow//./h//inside": `async function inside() { try { rt().resumeHook("x", 1); } catch (e) { return e.message; } }`,
      }),
    );
    const run = await h.start<string>("workflow//./h//inside");
    await expect(run.returnValue).resolves.toMatch(/call it inside a "use step" function/);
  });
});
