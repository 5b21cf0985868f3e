import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { checkServerVersion, idempotent, openConnection, redactUrl } from "./connection.js";
import { getTestRedis } from "./testing/server.js";

const serverAt = (version: string) =>
  ({ info: async () => `# Server\r\nredis_version:${version}\r\n` }) as unknown as Redis;
const lostAnswer = () =>
  Object.assign(new Error("Command aborted due to connection close"), { name: "AbortError" });

describe("connections", () => {
  it("refuses a server older than 6.2, naming its version", async () => {
    await expect(checkServerVersion(serverAt("6.0.16"), "redis://h")).rejects.toMatchObject({
      code: "REDIS_TOO_OLD",
      message: expect.stringMatching(/version 6\.0\.16; the Redis world needs 6\.2 or newer/),
    });
    await expect(checkServerVersion(serverAt("6.2.0"), "redis://h")).resolves.toBeUndefined();
    await expect(checkServerVersion(serverAt("7.0.15"), "redis://h")).resolves.toBeUndefined();
  });

  it("sends an idempotent call again after a lost answer, and gives up with CONNECTION_LOST", async () => {
    let calls = 0;
    const resent: number[] = [];
    expect(
      await idempotent(
        "a read",
        async () => {
          if (++calls < 3) throw lostAnswer();
          return "ok";
        },
        () => resent.push(calls),
      ),
    ).toBe("ok");
    expect(resent).toEqual([1, 2]);
    await expect(
      idempotent("a read of run r", async () => {
        throw lostAnswer();
      }),
    ).rejects.toMatchObject({ code: "CONNECTION_LOST", message: expect.stringContaining("a read of run r") });
    // Anything else is the caller's error, unchanged.
    await expect(
      idempotent("x", async () => {
        throw new Error("ERR wrong number of arguments");
      }),
    ).rejects.toThrow("ERR wrong number of arguments");
  });

  it("adds no listener to a closed socket for the commands that settle after it closed", async () => {
    const { url, prefix, cleanup } = await getTestRedis();
    const client = await openConnection({ url, name: `${prefix}listeners` }, "cmd", () => {});
    const socket = client.stream;
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      // QUIT answers after the commands sent before it: each of them settles once the socket is closing or gone.
      const replies = Array.from({ length: 50 }, (_, i) => client.get(`${prefix}k${i}`));
      await client.quit();
      await Promise.allSettled(replies);
      await new Promise((r) => setImmediate(r));
      expect(socket.destroyed).toBe(true);
      expect(socket.listenerCount("connect")).toBe(0);
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      await cleanup();
    }
  });

  it("keeps passwords out of messages", () => {
    expect(redactUrl("redis://user:secret@h:6379/0")).toBe("redis://user:***@h:6379/0");
  });
});
