import type { Command } from "commander";
import type { CliIo } from "./io.js";
import { redact } from "./redact.js";

/** What this command uses of `@wfkit/world-postgres` (see `loadWorldPostgres`). */
interface WorldPostgres {
  migrate(url: string, schema?: string): Promise<{ schema: string; applied: number[]; version: number }>;
  DEFAULT_SCHEMA: string;
}

/**
 * Loaded on demand so that `wf` starts without loading the Postgres driver for the other commands. The
 * specifier is a variable, which keeps this package's type-check independent of the Postgres world's
 * build output; the interface above states what is used.
 */
async function loadWorldPostgres(): Promise<WorldPostgres> {
  const specifier = "@wfkit/world-postgres";
  return (await import(specifier)) as WorldPostgres;
}

/** `wf postgres migrate [--url …] [--schema …]`: brings the Postgres world's schema to the latest version. */
export function addPostgresCommand(program: Command, io: CliIo): void {
  const postgres = program.command("postgres").description("manage the Postgres world's database");
  postgres
    .command("migrate")
    .description(
      "create or upgrade the Postgres world's tables (safe to run again, and from several machines at once)",
    )
    .option("--url <url>", "connection string (default: $WORKFLOW_POSTGRES_URL)")
    .option("--schema <name>", 'schema that holds the tables (default: "workflow")')
    .action(async (options: { url?: string; schema?: string }) => {
      const url = options.url ?? process.env.WORKFLOW_POSTGRES_URL;
      if (!url) {
        io.err(
          "wf postgres migrate: no database given. Pass --url postgres://user:pass@host:5432/db " +
            "or set WORKFLOW_POSTGRES_URL.\n",
        );
        io.exit(1);
        return;
      }
      try {
        const { migrate, DEFAULT_SCHEMA } = await loadWorldPostgres();
        const result = await migrate(url, options.schema ?? DEFAULT_SCHEMA);
        io.out(
          result.applied.length > 0
            ? `Applied migration${result.applied.length > 1 ? "s" : ""} ${result.applied.join(", ")} to schema ` +
                `"${result.schema}"; it is now at version ${result.version}.\n`
            : `Schema "${result.schema}" is already at version ${result.version}; nothing to do.\n`,
        );
      } catch (error) {
        io.err(`wf postgres migrate: ${redact((error as Error).message ?? String(error), url)}\n`);
        io.exit(1);
      }
    });
}
