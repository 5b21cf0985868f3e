/**
 * The Postgres schema a world keeps its tables in. Names are restricted to lower-case identifiers so
 * they never need case-folding rules explained, and short enough that the derived NOTIFY channel name
 * (`<schema>_runs`) stays within Postgres's 63-byte identifier limit.
 */
import { WorldError } from "@wfkit/world";

export const DEFAULT_SCHEMA = "workflow";
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new WorldError(
      "INVALID_SCHEMA",
      `Postgres schema name "${schema}" is not allowed: use 1-48 characters of a-z, 0-9 and "_", ` +
        'not starting with a digit (for example "workflow").',
    );
  }
  return schema;
}

/** The schema as a quoted SQL identifier (safe to splice into SQL once `checkSchemaName` passed). */
export function quoted(schema: string): string {
  return `"${checkSchemaName(schema)}"`;
}

/** The LISTEN/NOTIFY channel of a schema's worlds. */
export function channelOf(schema: string): string {
  return `${checkSchemaName(schema)}_runs`;
}
