export { createWorld, worldOptionsFromEnv } from "./create-world.js";
export { LATEST_VERSION, MIGRATIONS, type MigrateResult, type Migration, migrate } from "./migrations.js";
export {
  type ClaimedRun,
  createPostgresWorld,
  type PostgresWorld,
  type PostgresWorldOptions,
} from "./postgres-world.js";
export { DEFAULT_SCHEMA } from "./schema-name.js";
