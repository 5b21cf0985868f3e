import { runWorldConformance } from "@wfkit/world/conformance";
import { getTestDatabase } from "@wfkit/world-postgres/testing";
import { startQueueService } from "./testing/queue-service.js";
import { createVercelWorld } from "./vercel-world.js";

// The Postgres world underneath plus dispatch: the contract must hold unchanged, with every flow message sent.
runWorldConformance("vercel", async () => {
  const db = await getTestDatabase();
  const service = await startQueueService();
  const open = () =>
    createVercelWorld({
      storage: { url: db.url, schema: db.schema, poolSize: 4 },
      queue: { url: service.url, token: service.token },
    });
  return {
    world: await open(),
    reopen: open,
    concurrent: open,
    cleanup: async () => {
      await service.close();
      await db.cleanup();
    },
  };
});
