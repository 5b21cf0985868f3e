import { describe, expect, it } from "vitest";
import { fillBaseUrl, type NextRuntimeState, nextRuntimeState, waitingForRebuild } from "./next-runtime.js";

describe("the Next server runtime", () => {
  it("takes the base URL from Next's origin plus basePath, unless the user set WORKFLOW_BASE_URL", () => {
    const env: Record<string, string | undefined> = {};
    fillBaseUrl("/shop", env);
    expect(env.WORKFLOW_BASE_URL).toBeUndefined();
    env.__NEXT_PRIVATE_ORIGIN = "http://localhost:4100";
    fillBaseUrl("/shop", env);
    expect(env.WORKFLOW_BASE_URL).toBe("http://localhost:4100/shop");
    // A dev server that restarted on another port announces it again.
    env.__NEXT_PRIVATE_ORIGIN = "http://localhost:4101";
    fillBaseUrl("", env);
    expect(env.WORKFLOW_BASE_URL).toBe("http://localhost:4101");

    nextRuntimeState().derivedBaseUrl = false;
    const mine: Record<string, string | undefined> = {
      WORKFLOW_BASE_URL: "https://app.example",
      __NEXT_PRIVATE_ORIGIN: "http://x:1",
    };
    fillBaseUrl("", mine);
    expect(mine.WORKFLOW_BASE_URL).toBe("https://app.example");
  });

  it("makes runs wait for a dev rebuild in progress, including one queued behind it", async () => {
    const calls: string[] = [];
    const provider = {
      async getWorkflowBundle(id: string) {
        calls.push(`bundle ${id}`);
        return { code: "", filename: "workflows.js" };
      },
      async loadStep(id: string) {
        calls.push(`step ${id}`);
      },
    };
    const state: NextRuntimeState = {};
    let finishFirst!: () => void;
    let finishSecond!: () => void;
    state.rebuilding = new Promise<void>((r) => (finishFirst = r));
    const waiting = waitingForRebuild(provider, state);
    const bundle = waiting.getWorkflowBundle("w");
    const step = waiting.loadStep("s");
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual([]);
    state.rebuilding = state.rebuilding.then(() => new Promise<void>((r) => (finishSecond = r)));
    finishFirst();
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual([]);
    finishSecond();
    await Promise.all([bundle, step]);
    expect(calls.sort()).toEqual(["bundle w", "step s"]);
  });
});
