/** Plumbing shared by the peer harnesses: flags, child processes per group, Postgres URLs, output lines. */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const HERE = dirname(fileURLToPath(import.meta.url));
export const PEERS_ROOT = join(HERE, "..", ".peers");
export const GROUPS = ["sequential", "burst-100x3", "burst-1000x3"];

export function flags(argv = process.argv.slice(2)) {
  const get = (name) => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  return {
    child: get("--child"),
    world: get("--world"),
    group: get("--group"),
    groups: get("--groups")?.split(",") ?? GROUPS,
    runs: Number(get("--runs") ?? 5),
    budgetMs: Number(get("--budget-s") ?? 60) * 1000,
    maxRunMs: Number(get("--max-run-s") ?? 120) * 1000,
  };
}

/** A `require` rooted in a peer's cache folder, with a clear error when install.mjs has not been run. */
export function peerRequire(peer) {
  const dir = join(PEERS_ROOT, peer);
  if (!existsSync(join(dir, "node_modules"))) {
    throw new Error(
      `peer "${peer}" is not installed in ${dir}; run: node test/bench/peers/install.mjs ${peer}`,
    );
  }
  return createRequire(join(dir, "package.json"));
}

/** A peer package's installed version, read from disk (not every package exports its package.json). */
export function peerVersion(peer, pkg) {
  const file = join(PEERS_ROOT, peer, "node_modules", pkg, "package.json");
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).version : undefined;
}

export const POSTGRES_URL =
  process.env.WORKFLOW_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** The same server as POSTGRES_URL, another database. */
export function databaseUrl(name) {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops and recreates `name` so every run starts from empty tables (a grown history would skew the figures). */
export async function recreateDatabase(pg, name) {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

export function printRow(row) {
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

export function machineLine(system, versions) {
  const cpus = os.cpus();
  return {
    system,
    machine: {
      node: process.version,
      cpu: cpus[0]?.model,
      cores: cpus.length,
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    },
    date: new Date().toISOString(),
    versions,
  };
}

/** Runs `node <script> ...args` and resolves with the JSON lines it printed (stderr passes through). */
export function runChildJson(script, args, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [script, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...env },
    });
    let text = "";
    p.stdout.on("data", (d) => {
      text += d;
    });
    p.on("error", reject);
    p.on("exit", (code) => {
      if (code !== 0) reject(new Error(`${script} ${args.join(" ")} exited with ${code}`));
      else
        resolve(
          text
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l)),
        );
    });
  });
}
