import { describe, expect, it } from "vitest";
import { worldOptionsFromEnv } from "./create-world.js";

describe("worldOptionsFromEnv", () => {
  it("maps the WORKFLOW_POSTGRES_* variables to options", () => {
    expect(
      worldOptionsFromEnv({
        WORKFLOW_POSTGRES_URL: "postgres://h/db",
        WORKFLOW_POSTGRES_SCHEMA: "wf",
        WORKFLOW_POSTGRES_POOL_SIZE: "25",
        WORKFLOW_POSTGRES_MIGRATE: "false",
      }),
    ).toEqual({ url: "postgres://h/db", schema: "wf", poolSize: 25, migrate: false });
    expect(worldOptionsFromEnv({})).toEqual({});
  });

  it("refuses a pool size that is not a positive integer", () => {
    expect(() => worldOptionsFromEnv({ WORKFLOW_POSTGRES_POOL_SIZE: "lots" })).toThrow(
      /WORKFLOW_POSTGRES_POOL_SIZE must be a positive integer/,
    );
  });
});
