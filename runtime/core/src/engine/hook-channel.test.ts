import { describe, expect, it } from "vitest";
import { HookChannel } from "./hook-channel.js";

const channel = () => new HookChannel(Promise, () => new Error("disposed"));

describe("HookChannel", () => {
  it("queues payloads that arrive before anyone waits, and hands them out in arrival order", async () => {
    const c = channel();
    c.deliver("a");
    c.deliver("b");
    await expect(c.take("await")).resolves.toBe("a");
    await expect(c.take("iterate")).resolves.toEqual({ value: "b", done: false });
    const waiting = c.take("iterate");
    c.deliver("c");
    await expect(waiting).resolves.toEqual({ value: "c", done: false });
  });

  it("ends iteration after dispose once the queue is drained, and rejects plain awaits", async () => {
    const c = channel();
    const pendingIterate = c.take("iterate");
    const pendingAwait = c.take("await");
    c.end();
    await expect(pendingIterate).resolves.toEqual({ value: undefined, done: true });
    await expect(pendingAwait).rejects.toThrow("disposed");
    c.deliver("late");
    await expect(c.take("iterate")).resolves.toMatchObject({ done: true });
  });

  it("keeps queued payloads readable after dispose", async () => {
    const c = channel();
    c.deliver(1);
    c.end();
    await expect(c.take("iterate")).resolves.toEqual({ value: 1, done: false });
    await expect(c.take("iterate")).resolves.toMatchObject({ done: true });
  });

  it("rejects every wait, now and later, once the hook failed", async () => {
    const c = channel();
    const pending = c.take("await");
    c.fail(new Error("conflict"));
    await expect(pending).rejects.toThrow("conflict");
    await expect(c.take("iterate")).rejects.toThrow("conflict");
  });
});
