import { describe, expect, it } from "vitest";
import { cannotConnect, isConnectionError, isUniqueViolation } from "./pg-errors.js";

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
