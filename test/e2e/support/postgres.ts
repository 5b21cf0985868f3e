/** A Postgres world in a fresh schema of the test database, as a scenario's child processes open it. */
import { createPostgresWorld } from "@wfkit/world-postgres";
import { getTestDatabase } from "@wfkit/world-postgres/testing";
import pg from "pg";
import type { SharedWorld } from "./worker-scenarios.js";

export async function openPostgres(): Promise<SharedWorld> {
  const db = await getTestDatabase();
  const world = await createPostgresWorld({ url: db.url, schema: db.schema });
  return {
    world,
    env: {
      WORKFLOW_TARGET_WORLD: "postgres",
      WORKFLOW_POSTGRES_URL: db.url,
      WORKFLOW_POSTGRES_SCHEMA: db.schema,
    },
    executorOf: async (runId) => {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const res = await client.query<{ lease_owner: string | null }>(
          `SELECT lease_owner FROM "${db.schema}".runs WHERE run_id = $1`,
          [runId],
        );
        return res.rows[0]?.lease_owner ?? undefined;
      } finally {
        await client.end();
      }
    },
    close: async () => {
      await world.close();
      await db.cleanup();
    },
  };
}
