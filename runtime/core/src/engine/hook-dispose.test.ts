import { describe, expect, it } from "vitest";
import { getHookByToken, resumeHook } from "../api/hooks.js";
import { HookConflictError } from "../sandbox/hook-errors.js";
import { closingEngines, eventTypes, harness } from "./__tests__/harness.js";

const track = closingEngines();

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const workflows = {
  // The docs' "Detecting Token Conflicts" example, with the disposal `using` compiles to.
  "workflow//./hc.ts//claim": `async function claim(orderId) {
    const hook = rt().createHook({ token: "order:" + orderId });
    try {
      const conflict = await hook.getConflict();
      if (conflict) return { dedupedTo: conflict.runId };
      const payload = await hook;
      return { payload };
    } finally {
      hook[Symbol.dispose]();
    }
  }`,
  "workflow//./hc.ts//scoped": `async function scoped() {
    {
      const hook = rt().createHook({ token: "scoped" });
      try {
        await hook;
      } finally {
        hook[Symbol.dispose]();
      }
    }
    // The token is free again: a new hook may take it in the same run.
    const again = rt().createHook({ token: "scoped" });
    return [await again.getConflict(), await again];
  }`,
};

describe("hook.getConflict()", () => {
  it("resolves null once the hook is recorded, { runId } of the holder when the token is taken", async () => {
    const h = track(harness(workflows));
    const first = await h.start("workflow//./hc.ts//claim", ["42"]);
    await waitFor(
      async () => (await getHookByToken("order:42", h.engine).catch(() => undefined)) !== undefined,
    );
    const second = await h.start("workflow//./hc.ts//claim", ["42"]);
    await expect(second.returnValue).resolves.toEqual({ dedupedTo: first.runId });
    // The refused hook was never created, so its disposal recorded nothing.
    expect(
      (await eventTypes(h.world, second.runId)).filter((t) => t.startsWith("hook_disposed")),
    ).toHaveLength(1);
    await resumeHook("order:42", "paid", h.engine);
    await expect(first.returnValue).resolves.toEqual({ payload: "paid" });
    // Symbol.dispose freed the token when the workflow left the block.
    expect(await getHookByToken("order:42", h.engine).catch((e) => e)).toMatchObject({
      code: "HOOK_NOT_FOUND",
    });
  });

  it("await hook after a conflict rejects with HookConflictError carrying conflictingRunId", async () => {
    const h = track(
      harness({
        ...workflows,
        "workflow//./hc.ts//plain": `async function plain() {
          const hook = rt().createHook({ token: "order:7" });
          try { await hook; return "got"; } catch (e) { return { name: e.name, runId: e.conflictingRunId, token: e.token }; }
        }`,
      }),
    );
    const holder = await h.start("workflow//./hc.ts//claim", ["7"]);
    await waitFor(
      async () => (await getHookByToken("order:7", h.engine).catch(() => undefined)) !== undefined,
    );
    const run = await h.start("workflow//./hc.ts//plain");
    await expect(run.returnValue).resolves.toEqual({
      name: "HookConflictError",
      runId: holder.runId,
      token: "order:7",
    });
    expect(HookConflictError.is(new HookConflictError("t", "r"))).toBe(true);
  });

  it("Symbol.dispose frees the token for a new hook; replays give the same answers", async () => {
    const h = track(harness(workflows));
    const run = await h.start("workflow//./hc.ts//scoped");
    await waitFor(
      async () => (await getHookByToken("scoped", h.engine).catch(() => undefined)) !== undefined,
    );
    await resumeHook("scoped", 1, h.engine);
    await waitFor(async () => {
      const hooks = await h.world.listHooks(run.runId);
      return hooks.some((k) => k.hookId === "hook_0002" && k.status !== "disposed");
    });
    // resumeHook also takes the hook object getHookByToken gives.
    await resumeHook(await getHookByToken("scoped", h.engine), 2, h.engine);
    await expect(run.returnValue).resolves.toEqual([null, 2]);
    // A fresh engine replays the log from scratch and reaches the same outcome.
    const other = h.newEngine();
    try {
      await expect(other.queryRun(run.runId, "none", [])).rejects.toThrow(/no query "none"/);
    } finally {
      other.close();
    }
  });
});
