import { describe, expect, it } from "vitest";
import {
  cannotConnect,
  isConnectionError,
  isCutOff,
  isUniqueViolation,
  retryWhenCutOff,
} from "./pg-errors.js";

describe("pg error classification", () => {
  it("treats terminated sessions and socket errors as connection errors", () => {
    expect(
      isConnectionError({ code: "57P01", message: "terminating connection due to administrator command" }),
    ).toBe(true);
    expect(isConnectionError({ code: "08006" })).toBe(true);
    expect(isConnectionError(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isConnectionError({ code: "ECONNRESET" })).toBe(true);
  });

  it("does not treat query errors as connection errors", () => {
    expect(isConnectionError({ code: "23505", message: "duplicate key" })).toBe(false);
    expect(isConnectionError(new Error("syntax error at or near"))).toBe(false);
    expect(isConnectionError(undefined)).toBe(false);
  });

  it("matches unique violations by constraint", () => {
    const e = { code: "23505", constraint: "hooks_live_token" };
    expect(isUniqueViolation(e)).toBe(true);
    expect(isUniqueViolation(e, "hooks_live_token")).toBe(true);
    expect(isUniqueViolation(e, "events_pkey")).toBe(false);
    expect(isUniqueViolation({ code: "23503" })).toBe(false);
  });
});

describe("cannotConnect", () => {
  it("names host, port and database but never the password", () => {
    const e = cannotConnect(
      "postgres://app:hunter2@db.internal:6543/prod",
      new Error("connect ECONNREFUSED"),
    );
    expect(e.code).toBe("DATABASE_UNREACHABLE");
    expect(e.message).toContain("db.internal:6543/prod");
    expect(e.message).toContain("ECONNREFUSED");
    expect(e.message).not.toContain("hunter2");
  });
});

describe("retryWhenCutOff", () => {
  const killed = () =>
    Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" });
  const url = "postgres://app:hunter2@db.internal:6543/prod";

  it("starts over while the session is cut, and gives up with CONNECTION_LOST naming the server", async () => {
    let calls = 0;
    await expect(
      retryWhenCutOff(url, "opening", async () => {
        if (++calls < 3) throw killed();
        return "open";
      }),
    ).resolves.toBe("open");
    expect(calls).toBe(3);
    calls = 0;
    const always = retryWhenCutOff(url, "the world was opening", async () => {
      calls++;
      throw killed();
    });
    await expect(always).rejects.toMatchObject({
      code: "CONNECTION_LOST",
      message: expect.stringMatching(
        /db\.internal:6543\/prod.*while the world was opening, 5 times.*administrator/,
      ),
    });
    await expect(always).rejects.not.toMatchObject({ message: expect.stringContaining("hunter2") });
    expect(calls).toBe(5);
  });

  it("does not retry a refused connection or an error of the work itself", async () => {
    expect(isCutOff({ code: "ECONNREFUSED" })).toBe(false);
    expect(isCutOff({ code: "57P01" })).toBe(true);
    for (const error of [{ code: "ECONNREFUSED" }, { code: "42601", message: "syntax error" }]) {
      let calls = 0;
      await expect(
        retryWhenCutOff(url, "opening", async () => {
          calls++;
          throw error;
        }),
      ).rejects.toBe(error);
      expect(calls).toBe(1);
    }
  });
});
