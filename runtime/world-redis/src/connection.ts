/**
 * The world's two Redis connections and how their failures are told apart.
 *
 * - Commands: one connection carries every command (Redis runs one command at a time, so more connections
 *   would add sockets, not throughput); ioredis pipelines whatever is in flight and auto-pipelining writes the
 *   commands issued in one tick together.
 * - Notifications: a dedicated subscriber connection (a connection in SUBSCRIBE mode can run nothing else).
 *
 * A command whose connection dies before its answer arrives is NOT resent by the client
 * (`autoResendUnfulfilledCommands: false`): ioredis would otherwise send it again after reconnecting, and a
 * write may have been applied already. Such a command fails with an `AbortError` once the client has
 * reconnected, and the world decides (idempotent reads and lease calls: retry; appends and creations: read
 * back, see redis-world.ts). Commands issued while disconnected wait in the offline queue and are sent once
 * (they never reached the server).
 */
import { isWorldError, WorldError } from "@wfkit/world";
import { Redis, type RedisOptions } from "ioredis";

export interface ConnectionSettings {
  url: string;
  /** `CLIENT SETNAME` of both connections (`<name>:cmd`, `<name>:sub`), to find them in CLIENT LIST. */
  name: string;
}

/** Opens a connection and waits until it is ready; a server that does not answer is a clear error. */
export async function openConnection(
  settings: ConnectionSettings,
  role: "cmd" | "sub",
  onError: (error: Error) => void,
): Promise<Redis> {
  const options: RedisOptions = {
    connectionName: `${settings.name}:${role}`,
    lazyConnect: true,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: role === "cmd",
    // A command issued while the server is unreachable fails after this many reconnection attempts (~20 s of
    // back-off) instead of waiting forever; the world reports it as CONNECTION_LOST.
    maxRetriesPerRequest: 20,
  };
  const client = new Redis(settings.url, options);
  let lastError: Error | undefined;
  // Without a listener an 'error' event (ECONNRESET after CLIENT KILL, a refused reconnect) would crash the
  // process; the client reconnects by itself, so the error is only worth reporting.
  client.on("error", (error: Error) => {
    lastError = error;
    onError(error);
  });
  holdProcessOnlyWhileBusy(client);
  try {
    await client.connect();
  } catch (error) {
    // Closed before it was ready: refused, or killed during the handshake. ioredis is already reconnecting;
    // a few attempts tell a server that is there from one that is not.
    if (!(await readyWithin(client, CONNECT_ATTEMPTS))) {
      client.disconnect();
      throw new WorldError(
        "REDIS_UNREACHABLE",
        `Cannot connect to Redis at ${redactUrl(settings.url)} (${(lastError ?? (error as Error)).message}). ` +
          "Check that the server runs and WORKFLOW_REDIS_URL (redis://[user:password@]host:port[/db]) points at it.",
      );
    }
  }
  return client;
}

/** Reconnection attempts (ioredis backs off 50 ms, 100 ms, 200 ms… plus jitter) before a server is unreachable. */
const CONNECT_ATTEMPTS = 4;

/** Whether the client becomes ready before it has tried to reconnect more than `attempts` times. */
function readyWithin(client: Redis, attempts: number): Promise<boolean> {
  if (client.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    let tries = 0;
    const done = (ready: boolean) => {
      client.off("ready", onReady);
      client.off("reconnecting", onReconnecting);
      client.off("end", onEnd);
      resolve(ready);
    };
    const onReady = () => done(true);
    const onEnd = () => done(false);
    const onReconnecting = () => {
      if (++tries > attempts) done(false);
    };
    client.on("ready", onReady);
    client.on("reconnecting", onReconnecting);
    client.on("end", onEnd);
  });
}

/**
 * Lets a process whose work is done exit without closing the world (as the local and Postgres worlds do: an app
 * whose runs have ended exits by itself): the connection's socket, and its reconnection timer, keep the process
 * alive only while commands are in flight. The way pg's `allowExitOnIdle` treats idle pooled connections;
 * ioredis has no such option, so every command is counted where they all pass, `sendCommand` (plain commands,
 * scripts, pipelines and transactions alike).
 */
function holdProcessOnlyWhileBusy(client: Redis): void {
  let inFlight = 0;
  const apply = () => {
    const timer = (client as unknown as { reconnectTimeout?: NodeJS.Timeout | null }).reconnectTimeout;
    // A closed socket is left out: `Socket#ref`/`unref` on one with no handle adds a once('connect') listener to
    // apply itself later, which never fires on a socket that is gone, so every command settling after a close
    // (QUIT, a killed connection) would leak one. The next socket is set on its 'connect' event, below.
    const stream = client.stream?.destroyed ? undefined : client.stream;
    for (const handle of [stream, timer]) {
      if (inFlight > 0) handle?.ref?.();
      else handle?.unref?.();
    }
  };
  client.on("connect", apply);
  // ioredis emits 'reconnecting' just before it arms the timer.
  client.on("reconnecting", () => queueMicrotask(apply));
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<Redis["sendCommand"]>) => {
    const [command] = args;
    inFlight++;
    apply();
    const settled = () => {
      inFlight--;
      apply();
    };
    command.promise.then(settled, settled);
    return send(...args);
  }) as Redis["sendCommand"];
}

/** ZRANGE … BYSCORE/BYLEX/REV LIMIT, which the scripts and listings use, came with Redis 6.2. */
const MINIMUM_VERSION = [6, 2];

/** Refuses a server too old for the world's commands, with its version in the message. */
export async function checkServerVersion(client: Redis, where: string): Promise<void> {
  let version: string | undefined;
  try {
    version = /^redis_version:(\S+)/m.exec(await idempotent("INFO server", () => client.info("server")))?.[1];
  } catch (error) {
    if (isWorldError(error, "CONNECTION_LOST")) throw error;
    return; // INFO refused: the first command the server lacks will say so
  }
  const [major = 0, minor = 0] = (version ?? "").split(".").map(Number);
  if (
    version &&
    (major < MINIMUM_VERSION[0]! || (major === MINIMUM_VERSION[0] && minor < MINIMUM_VERSION[1]!))
  ) {
    throw new WorldError(
      "REDIS_TOO_OLD",
      `Redis at ${where} is version ${version}; the Redis world needs ${MINIMUM_VERSION.join(".")} or newer.`,
    );
  }
}

/** The URL without its password, for error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

/**
 * The command was sent but its connection broke before the answer arrived (ioredis rejects it once it has
 * reconnected): it may or may not have run, and the server is reachable again.
 */
export function isLostAnswer(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

/** The server could not be reached for a while (reconnection attempts ran out) or the client was closed. */
export function isUnreachable(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === "MaxRetriesPerRequestError" || error.message === "Connection is closed.")
  );
}

/** How often an idempotent call is sent again after a lost answer before the caller gets CONNECTION_LOST. */
const RESENDS = 5;

/**
 * Runs a call that is safe to repeat (a read, or a write that recognises its own earlier attempt), sending it
 * again after a lost answer. `resent` is told before each resend, for calls whose second answer differs from the
 * first (e.g. "already stored"). Connection failures end as `WorldError` CONNECTION_LOST naming `what`.
 */
export async function idempotent<T>(what: string, call: () => Promise<T>, resent?: () => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (isLostAnswer(error) && attempt <= RESENDS) {
        resent?.();
        continue;
      }
      throw isLostAnswer(error) || isUnreachable(error) ? connectionLost(what, error) : error;
    }
  }
}

export function connectionLost(what: string, cause: unknown, maybeApplied = false): WorldError {
  return Object.assign(
    new WorldError(
      "CONNECTION_LOST",
      `The connection to Redis broke during ${what} and could not be restored` +
        (maybeApplied
          ? "; it may or may not have been applied. Re-read the run (getRun/readEvents) before trying again."
          : "."),
    ),
    { cause },
  );
}
