import pg from "pg";
import { describe, expect, it } from "vitest";
import { createWorld, worldOptionsFromEnv } from "./create-world.js";
import { getTestDatabase } from "./testing/database.js";

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

describe("createWorld", () => {
  it("configures itself from the environment it is given, not only process.env", async () => {
    const db = await getTestDatabase();
    const world = await createWorld({ WORKFLOW_POSTGRES_URL: db.url, WORKFLOW_POSTGRES_SCHEMA: db.schema });
    try {
      await world.createRun({ workflowName: "workflow//./a//w", input: "[]" });
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${db.schema}".runs`);
        expect(rows[0].n).toBe(1);
      } finally {
        await client.end();
      }
    } finally {
      await world.close();
      await db.cleanup();
    }
  });
});
