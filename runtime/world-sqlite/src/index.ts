export { createWorld, worldOptionsFromEnv } from "./create-world.js";
export { LATEST_VERSION, MIGRATIONS, type MigrateResult, type Migration } from "./migrations.js";
export {
  createSqliteWorld,
  DEFAULT_PATH,
  type SqliteWorld,
  type SqliteWorldOptions,
} from "./sqlite-world.js";
