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

const KNOWN_FLAGS = ["--child", "--world", "--group", "--groups", "--runs", "--max-run-s"];

export function flags(argv = process.argv.slice(2)) {
  // A mistyped flag (or --help) would otherwise be ignored and start a full benchmark of many minutes.
  const unknown = argv.filter(
    (a, i) => a.startsWith("-") && !KNOWN_FLAGS.includes(a) && !KNOWN_FLAGS.includes(argv[i - 1]),
  );
  if (unknown.length) {
    console.error(
      `unknown flag ${unknown.join(", ")}; the flags are --runs N, --max-run-s S, --groups ${GROUPS.join(",")}, ` +
        "--world local|postgres (and --world memory|sqlite for the engine); see the comment at the top of the script",
    );
    process.exit(2);
  }
  const get = (name) => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  return {
    child: get("--child"),
    world: get("--world"),
    group: get("--group"),
    groups: get("--groups")?.split(",") ?? GROUPS,
    runs: Number(get("--runs") ?? 3),
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

export function machineInfo() {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus[0]?.model,
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function machineLine(system, versions) {
  return { system, machine: machineInfo(), date: new Date().toISOString(), versions };
}

/**
 * Folds the JSON lines of one system's groups into `out` (results.json's shape): figure rows go to
 * `out.results`; `peak-rss-mib` lines go to `out.peak_rss_by_group`, and the burst-100x3 group's peak also
 * becomes the `peak-rss-mib` row (MiB in the *_ms fields, as the issue lists it among the workloads);
 * `engine-stats` lines go to `out.engine_stats`.
 */
export function collectRows(out, lines) {
  out.results ??= [];
  out.peak_rss_by_group ??= [];
  out.engine_stats ??= [];
  for (const line of lines) {
    if (line.machine) continue;
    if (line.workload === "engine-stats") out.engine_stats.push(line);
    else if (line.workload === "peak-rss-mib") {
      out.peak_rss_by_group.push(line);
      if (line.group === "burst-100x3") {
        const { value, group, ...rest } = line;
        out.results.push({
          ...rest,
          runs: 1,
          median_ms: value,
          min_ms: value,
          max_ms: value,
          unit: "MiB",
          group,
        });
      }
    } else out.results.push(line);
  }
  return out;
}

/** Runs `node [...nodeArgs] <script> ...args` and resolves with the JSON lines it printed (stderr passes through). */
export function runChildJson(script, args, env = {}, nodeArgs = []) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...nodeArgs, script, ...args], {
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
