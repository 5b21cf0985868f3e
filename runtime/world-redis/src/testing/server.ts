/**
 * A Redis server for tests. With `WORKFLOW_REDIS_URL` set (CI points it at the machine's server) tests use that
 * server; otherwise the first call in a test process starts a private `redis-server` from PATH on a free port,
 * keeping nothing on disk, and stops it when the process exits. Every call gets a fresh random key prefix that
 * `cleanup()` deletes, so test files and test cases never see each other's keys, on a shared server too.
 *
 * `redis-server` missing: `bash runtime/world-redis/scripts/ensure-redis.sh` installs Debian's package.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";

export interface TestRedis {
  url: string;
  /** A fresh key prefix for this caller (`wft:<random>:`). */
  prefix: string;
  /** Deletes every key under the prefix. */
  cleanup(): Promise<void>;
}

let started: Promise<RedisServer> | undefined;

/** A server URL plus a fresh prefix; see the module comment for where the server comes from. */
export async function getTestRedis(): Promise<TestRedis> {
  let url = process.env.WORKFLOW_REDIS_URL;
  if (!url) {
    started ??= startRedisServer();
    url = (await started).url;
  }
  const serverUrl = url;
  const prefix = `wft:${randomBytes(6).toString("hex")}:`;
  return { url: serverUrl, prefix, cleanup: () => deletePrefix(serverUrl, prefix) };
}

/** Deletes every key that starts with `prefix` (SCAN, so a big server is not blocked). */
export function deletePrefix(url: string, prefix: string): Promise<void> {
  return withClient(url, async (client) => {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${escapeGlob(prefix)}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== "0");
  });
}

/** Runs one command on a short-lived connection (for tests that look at keys no world method shows). */
export function redisCommand(url: string, command: string, ...args: (string | number)[]): Promise<unknown> {
  return withClient(url, (client) => client.call(command, ...args));
}

/**
 * Kills the server's client connections whose name (`CLIENT SETNAME`; a world's are
 * `<connectionName>:<prefix>:<instance>:cmd|sub`) passes `match`, by ID: Redis 7.0's CLIENT KILL has no name
 * filter, and killing every normal client would hit others sharing the server. Answers how many were killed.
 */
export function killClients(url: string, match: (name: string) => boolean): Promise<number> {
  return withClient(url, (client) => killClientsWith(client, match));
}

export async function killClientsWith(client: Redis, match: (name: string) => boolean): Promise<number> {
  const list = (await client.client("LIST")) as string;
  let killed = 0;
  for (const line of list.split("\n")) {
    const id = /\bid=(\d+)/.exec(line)?.[1];
    const name = /\bname=(\S*)/.exec(line)?.[1] ?? "";
    if (id && match(name)) killed += Number(await client.client("KILL", "ID", id));
  }
  return killed;
}

async function withClient<T>(url: string, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  client.on("error", () => {});
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export interface RedisServer {
  url: string;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a private `redis-server` from PATH on a free port, in a fresh directory, with `extraArgs` after the
 * defaults (nothing persisted: `--save "" --appendonly no`). It is stopped when the test process exits, however
 * it exits, or by `stop()`.
 */
export async function startRedisServer(extraArgs: readonly string[] = []): Promise<RedisServer> {
  const binary = findRedisServer();
  const dir = mkdtempSync(path.join(os.tmpdir(), "wfkit-redis-"));
  let child: ChildProcess | undefined;
  let port = 0;
  // The free port we pick may be taken before the server binds it; another port then does.
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    try {
      child = await launch(binary, dir, port, extraArgs);
    } catch (error) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  // A detached watchdog stops the server and removes its directory even when the test process is killed
  // outright (which skips exit handlers); the handler below only makes the normal case faster.
  const watchdog = spawn(
    "sh",
    [
      "-c",
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done; kill ${child.pid} 2>/dev/null; ` +
        `while kill -0 ${child.pid} 2>/dev/null; do sleep 0.1; done; rm -rf '${dir}'`,
    ],
    { detached: true, stdio: "ignore" },
  );
  watchdog.unref();
  const server = child;
  const onExit = () => server.kill();
  process.once("exit", onExit);
  server.unref();
  for (const s of [server.stdout, server.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      process.off("exit", onExit);
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once("exit", resolve));
        server.kill();
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function findRedisServer(): string {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(
      "No Redis for the tests: WORKFLOW_REDIS_URL is not set and `redis-server` is not on PATH. Run " +
        "`bash runtime/world-redis/scripts/ensure-redis.sh` (installs Debian's redis-server with apt-get), install " +
        "Redis 7 another way, or set WORKFLOW_REDIS_URL=redis://host:6379 to use a running server.",
    );
  }
}

/** Starts `redis-server` (nothing persisted: a throw-away server) and resolves once it accepts connections. */
function launch(
  binary: string,
  dir: string,
  port: number,
  extraArgs: readonly string[],
): Promise<ChildProcess> {
  const child = spawn(
    binary,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      ...extraArgs,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("Ready to accept connections")) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        child.stderr?.resume();
        child.off("exit", onExit);
        resolve(child);
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`redis-server exited with code ${code} while starting on port ${port}:\n${log}`));
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
