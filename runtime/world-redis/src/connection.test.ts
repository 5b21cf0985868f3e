import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { checkServerVersion, idempotent, redactUrl } from "./connection.js";

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

  it("keeps passwords out of messages", () => {
    expect(redactUrl("redis://user:secret@h:6379/0")).toBe("redis://user:***@h:6379/0");
  });
});
