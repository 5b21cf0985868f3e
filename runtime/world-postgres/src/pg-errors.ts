/**
 * Recognising driver and server errors that mean "the connection went away", not "the query was wrong", and the
 * errors the world reports for them.
 */
import { WorldError } from "@wfkit/world";

export function isConnectionError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === "string") {
    // Class 08 = connection exception; 57P01-57P03 = the server terminated the session or is restarting.
    if (code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03") return true;
    // Our own report of it, from a read made while resolving a broken call.
    if (code === "CONNECTION_LOST") return true;
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

/**
 * A connection that was made and then cut (the server ended the session, restarted, or the socket broke), as
 * opposed to a server that cannot be reached at all (refused, unknown host, bad credentials): worth another try.
 */
export function isCutOff(error: unknown): boolean {
  return isConnectionError(error) && (error as { code?: unknown }).code !== "ECONNREFUSED";
}

const CUT_OFF_ATTEMPTS = 5;
const CUT_OFF_BACKOFF_MS = 50;

/**
 * Runs `attempt` again (up to 5 times, backing off 50 ms, 100 ms, …) while it fails because its connection was
 * cut; then gives up with `CONNECTION_LOST`. Only for work that a cut leaves undone (a transaction, or
 * resources the attempt releases itself).
 */
export async function retryWhenCutOff<T>(url: string, during: string, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isCutOff(error)) throw error;
      if (n >= CUT_OFF_ATTEMPTS) {
        throw new WorldError(
          "CONNECTION_LOST",
          `Postgres at ${whereOf(url)} closed the connection while ${during}, ${n} times in a row (last: ` +
            `${reasonOf(error)}). The server is restarting or failing over, or something ends its sessions ` +
            "(pg_terminate_backend, an idle or statement timeout). Nothing was left half-done; try again.",
        );
      }
      await new Promise((resolve) => setTimeout(resolve, CUT_OFF_BACKOFF_MS * n));
    }
  }
}

/** The error for a call that found the connection broken on every attempt. */
export function connectionLost(error: unknown, consequence: string): WorldError {
  return new WorldError(
    "CONNECTION_LOST",
    `The connection to Postgres broke on every attempt (last: ${reasonOf(error)}): the server is restarting ` +
      `or failing over, or something ends its sessions. ${consequence}`,
  );
}

/** The error for a first connection that failed: where we tried (never the password) and what to check. */
export function cannotConnect(url: string, error: unknown): WorldError {
  return new WorldError(
    "DATABASE_UNREACHABLE",
    `Cannot connect to Postgres at ${whereOf(url)} (${reasonOf(error)}). Check the connection string ` +
      "(WORKFLOW_POSTGRES_URL or the url option) and that the server is running and accepts connections.",
  );
}

/** Host, port and database of a connection string, never its password. */
function whereOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || "5432"}${u.pathname}`;
  } catch {
    return "the configured server"; // not a URL (e.g. key=value form)
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
