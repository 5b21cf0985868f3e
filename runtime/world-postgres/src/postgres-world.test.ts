import { runWorldConformance } from "@wfkit/world/conformance";
import { createPostgresWorld } from "./postgres-world.js";
import { getTestDatabase } from "./testing/database.js";

runWorldConformance("postgres", async () => {
  const db = await getTestDatabase();
  const open = () => createPostgresWorld({ url: db.url, schema: db.schema, poolSize: 4 });
  // `concurrent` is another instance (own pool and LISTEN connection) as another process would open it.
  return { world: await open(), reopen: open, concurrent: open, cleanup: db.cleanup };
});
