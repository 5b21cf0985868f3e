/**
 * `defineHook({ schema })` with real Standard Schema libraries (zod 4, valibot, arktype): an invalid payload is
 * refused with the schema's issues and nothing is delivered; a valid one is delivered as the schema's output.
 * In-process, on the memory world, with a hand-written workflow bundle (the engine's test harness).
 */
import { configureRuntime, getEngine, getRun, start } from "@wfkit/core";
import { createMemoryWorld, type World } from "@wfkit/world";
import { type } from "arktype";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineHook, HookPayloadInvalidError, type StandardSchemaV1 } from "workflow";
import { z } from "zod";
import { TestCode } from "../../runtime/core/src/engine/__tests__/harness.js";

const WF = "workflow//e2e.ts//typed";
let world: World;

beforeAll(() => {
  world = createMemoryWorld();
  configureRuntime({
    world,
    codeProvider: new TestCode({
      [WF]: `async function typed(token) { const hook = rt().createHook({ token }); return await hook; }`,
    }),
  });
});
afterAll(() => getEngine().close());

async function waitForHook(token: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const hook = await world.getHookByToken(token);
    if (hook) return hook.runId;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`hook ${token} never appeared`);
}

const schemas: Record<string, StandardSchemaV1<{ n: unknown }, { n: number; label: string }>> = {
  zod: z.object({ n: z.number().int() }).transform((o) => ({ n: o.n, label: `#${o.n}` })),
  valibot: v.pipe(
    v.object({ n: v.pipe(v.number(), v.integer()) }),
    v.transform((o) => ({ n: o.n, label: `#${o.n}` })),
  ),
  arktype: type({ n: "number.integer" }).pipe((o) => ({ n: o.n, label: `#${o.n}` })),
};

describe("defineHook with Standard Schema libraries", () => {
  for (const [library, schema] of Object.entries(schemas)) {
    it(`validates with ${library}: refuses invalid payloads undelivered, delivers the schema's output`, async () => {
      const hook = defineHook({ schema });
      const token = `typed-${library}`;
      const run = await start(WF, [token]);
      await waitForHook(token);
      const error = await hook.resume(token, { n: "seven" }).catch((e) => e);
      expect(error).toBeInstanceOf(HookPayloadInvalidError);
      expect(error.issues.length).toBeGreaterThan(0);
      expect(error.message).toMatch(/^The payload for hook "typed-\w+" does not match the hook's schema/);
      expect(error.message).toContain("n");
      const events = await world.readEvents(run.runId);
      expect(events.some((e) => e.type === "hook_received")).toBe(false);
      const info = await hook.resume(token, { n: 7 });
      expect(info.runId).toBe(run.runId);
      await expect(getRun(run.runId).returnValue).resolves.toEqual({ n: 7, label: "#7" });
    });
  }
});
