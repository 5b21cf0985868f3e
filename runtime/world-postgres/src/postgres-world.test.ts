import { runWorldConformance } from "@wfkit/world/conformance";
import { createPostgresWorld } from "./postgres-world.js";
import { getTestDatabase } from "./testing/database.js";

runWorldConformance("postgres", async () => {
  const db = await getTestDatabase();
  const open = () => createPostgresWorld({ url: db.url, schema: db.schema, poolSize: 4 });
  return { world: await open(), reopen: open, cleanup: db.cleanup };
});
