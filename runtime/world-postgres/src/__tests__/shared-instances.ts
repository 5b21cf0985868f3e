/**
 * For tests of behaviour only a world shared between processes has: several world instances on one fresh
 * schema (each with its own pool and LISTEN connection, as separate processes would have), and polling for
 * what another instance hears.
 */
import pg from "pg";
import { afterAll, afterEach, beforeAll } from "vitest";
import { createPostgresWorld, type PostgresWorld, type PostgresWorldOptions } from "../postgres-world.js";
import { getTestDatabase, type TestDatabase } from "../testing/database.js";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export interface SharedInstances {
  /** The schema of this describe block (created before its tests, dropped after them). */
  readonly db: TestDatabase;
  /** A plain client on that database, for what no world method does (terminating a backend, raw calls). */
  readonly admin: pg.Client;
  /** Another world instance on the schema (4 connections unless told otherwise), closed after each test. */
  open(opts?: Partial<PostgresWorldOptions>): Promise<PostgresWorld>;
}

/** Registers the hooks in the calling describe block. */
export function sharedInstances(): SharedInstances {
  let db: TestDatabase | undefined;
  let admin: pg.Client | undefined;
  const worlds: PostgresWorld[] = [];
  beforeAll(async () => {
    db = await getTestDatabase();
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  afterEach(async () => {
    for (const w of worlds.splice(0)) await w.close();
  });
  afterAll(async () => {
    await admin?.end();
    await db?.cleanup();
  });
  const shared: SharedInstances = {
    get db() {
      if (!db) throw new Error("sharedInstances(): the database exists only inside tests");
      return db;
    },
    get admin() {
      if (!admin) throw new Error("sharedInstances(): the admin client exists only inside tests");
      return admin;
    },
    // Not through `this`: tests take `open` out of the object.
    async open(opts = {}) {
      const { url, schema } = shared.db;
      const w = await createPostgresWorld({ url, schema, poolSize: 4, ...opts });
      worlds.push(w);
      return w;
    },
  };
  return shared;
}
