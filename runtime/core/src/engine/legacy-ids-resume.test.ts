/**
 * A run recorded before IDs took WDK's scheme (`workflow//./src/order//order`, `step//./src/order//add`) is
 * resumed by code built since (`workflow//src/order.ts//order`, `step//src/order.ts//add`): the workflow is
 * found under its current ID, and its recorded step replays without a divergence.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Run } from "../api/run.js";
import { bundle, harness, registerStep } from "./__tests__/harness.js";
import type { Engine } from "./engine.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("condition never held");
}

describe("runs recorded under the earlier IDs", () => {
  it("resume on code that registers the current IDs, replaying their steps", async () => {
    const calls: string[] = [];
    registerStep("step//./src/legacy-order//add", async (a: number, b: number) => {
      calls.push("old");
      return a + b;
    });
    registerStep("step//src/legacy-order.ts//add", async (a: number, b: number) => {
      calls.push("new");
      return a + b;
    });
    const h = harness({
      "workflow//./src/legacy-order//order": `async function order() {
        const sum = await step("step//./src/legacy-order//add")(1, 2);
        await rt().sleep("40ms");
        return sum * 10;
      }`,
    });
    engines.push(h.engine);
    const run = await h.start("workflow//./src/legacy-order//order");
    await waitFor(async () => (await h.world.listWaits(run.runId)).length === 1);
    h.engine.close();

    // The new build: the same workflow under its current ID only; asked for by the recorded ID.
    const code = bundle({
      "workflow//src/legacy-order.ts//order": `async function order() {
        const sum = await step("step//src/legacy-order.ts//add")(1, 2);
        await rt().sleep("40ms");
        return sum * 10;
      }`,
    });
    const second = h.newEngine({
      codeProvider: {
        getWorkflowBundle: async () => ({ code, filename: "new.js" }),
        loadStep: async () => {},
      },
    });
    engines.push(second);
    await second.resumePendingRuns();
    await expect(new Run(run.runId, second).returnValue).resolves.toBe(30);
    expect(calls).toEqual(["old"]); // replayed from the log, not run again
  });
});
