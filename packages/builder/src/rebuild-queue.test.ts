import { describe, expect, it } from "vitest";
import { RebuildQueue } from "./rebuild-queue.js";

describe("RebuildQueue", () => {
  it("runs one more build for every burst of requests made while one runs, after the one already under way", async () => {
    const log: string[] = [];
    let release!: () => void;
    const first = new Promise<void>((r) => (release = r));
    let n = 0;
    const queue = new RebuildQueue(
      async () => {
        n++;
        log.push(`build ${n}`);
        return n;
      },
      { built: (r) => log.push(`built ${r}`), failed: (e) => log.push(`failed ${e}`) },
      first,
    );
    queue.request();
    queue.request(); // same burst: no second build
    const settled = queue.settled();
    expect(log).toEqual([]); // waits for the build under way
    release();
    await settled;
    expect(log).toEqual(["build 1", "built 1"]);
    queue.request();
    await queue.settled();
    expect(log).toEqual(["build 1", "built 1", "build 2", "built 2"]);
  });

  it("reports a failed build and keeps serving later requests; settled() never rejects", async () => {
    const log: string[] = [];
    let fail = true;
    const queue = new RebuildQueue(
      async () => {
        if (fail) throw new Error("syntax error in steps.ts");
        return "ok";
      },
      { built: (r) => log.push(`built ${r}`), failed: (e) => log.push(`failed: ${(e as Error).message}`) },
      Promise.reject(new Error("the first build failed too")),
    );
    queue.request();
    await expect(queue.settled()).resolves.toBeUndefined();
    fail = false;
    queue.request();
    await queue.settled();
    expect(log).toEqual(["failed: syntax error in steps.ts", "built ok"]);
  });

  it("waits for a quiet period before building, so a truncate-then-write save builds once, from the written file", async () => {
    let file = "";
    const seen: string[] = [];
    const queue = new RebuildQueue(
      async () => seen.push(file),
      { built: () => {}, failed: () => {} },
      undefined,
      30,
    );
    queue.request(); // the truncation
    await new Promise((r) => setTimeout(r, 10));
    file = "export async function greet() {}";
    queue.request(); // the write, inside the quiet period
    await queue.settled();
    expect(seen).toEqual(["export async function greet() {}"]);
  });
});
