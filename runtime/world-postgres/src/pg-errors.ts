/** Recognising driver and server errors that mean "the connection went away", not "the query was wrong". */
import { WorldError } from "@wfkit/world";

export function isConnectionError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === "string") {
    // Class 08 = connection exception; 57P01-57P03 = the server terminated the session or is restarting.
    if (code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03") return true;
    if (code === "ECONNRESET" || code === "EPIPE" || code === "ECONNREFUSED") return true;
  }
  return (
    typeof message === "string" &&
    /Connection terminated|connection ended|Client has encountered a connection error|Client was closed/i.test(
      message,
    )
  );
}

/** A unique violation (SQLSTATE 23505) on the named constraint or index. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { code?: unknown; constraint?: unknown };
  return e.code === "23505" && (constraint === undefined || e.constraint === constraint);
}

/** Postgres refusing a NUL character in text or jsonb (SQLSTATE 22P05 or 22021). */
export function isNulRefusal(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === "22P05" || code === "22021";
}

/** The error for a first connection that failed: where we tried (never the password) and what to check. */
export function cannotConnect(url: string, error: unknown): WorldError {
  let where = "the configured server";
  try {
    const u = new URL(url);
    where = `${u.hostname}:${u.port || "5432"}${u.pathname}`;
  } catch {
    // not a URL (e.g. key=value form): keep the generic wording
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new WorldError(
    "DATABASE_UNREACHABLE",
    `Cannot connect to Postgres at ${where} (${reason}). Check the connection string ` +
      "(WORKFLOW_POSTGRES_URL or the url option) and that the server is running and accepts connections.",
  );
}
