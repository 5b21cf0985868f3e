#!/usr/bin/env node
/**
 * Installs the peer systems the benchmark compares against into `test/bench/.peers/<peer>/` (gitignored), each
 * with its own package.json and `npm install --prefix`, so nothing reaches the project's dependencies or lockfile.
 *
 *   node test/bench/peers/install.mjs            every peer
 *   node test/bench/peers/install.mjs wdk        one peer (wdk | dbos | swc)
 *
 * WDK runs the way its Nitro guide describes (the lightest of its documented hosts): `workflow` + `nitro` v3 with
 * `modules: ["workflow/nitro"]`, built once with `nitro build` and served by `node .output/server/index.mjs`.
 * The app sources live in `test/bench/peers/wdk-app/` (plus the shared `workloads.mjs`) and are copied into the
 * cache folder, then built there; rerun this after changing either.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
export const PEERS_ROOT = join(HERE, "..", ".peers");

/** Pinned so a rerun measures the same code; bump deliberately (and note it in README.md). */
const PEERS = {
  wdk: {
    dependencies: {
      workflow: "4.8.9",
      "@workflow/world-postgres": "4.3.7",
      nitro: "3.0.260610-beta", // the Nitro v3 beta @workflow/nitro 4.1.15 is built against (its devDependency); npm "latest" 3.0.0 is older
      rollup: "^4",
    },
    afterInstall: buildWdkApp,
  },
  dbos: {
    dependencies: { "@dbos-inc/dbos-sdk": "5.3.0" },
  },
  // WDK's compiler: the wasm plugin its builders pass to @swc/core, with the @swc/core its peerDependencies pin
  // (a wasm plugin only loads in the swc_core it was built against).
  swc: {
    dependencies: { "@workflow/swc-plugin": "4.1.3", "@swc/core": "1.15.3" },
  },
};

function npm(args, cwd) {
  execFileSync("npm", args, { cwd, stdio: "inherit", env: { ...process.env, npm_config_fund: "false" } });
}

function buildWdkApp(dir) {
  // The app sources are ours (checked in); the build output stays in the cache folder.
  cpSync(join(HERE, "wdk-app"), dir, { recursive: true });
  for (const file of ["workloads.mjs", "workloads.d.mts"]) cpSync(join(HERE, file), join(dir, file));
  npm(["exec", "--", "nitro", "build"], dir);
  if (!existsSync(join(dir, ".output", "server", "index.mjs"))) {
    throw new Error(`nitro build in ${dir} produced no .output/server/index.mjs; see the build log above`);
  }
}

export function install(name) {
  const peer = PEERS[name];
  if (!peer) throw new Error(`unknown peer "${name}"; expected one of: ${Object.keys(PEERS).join(", ")}`);
  const dir = join(PEERS_ROOT, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify({ name: `bench-peer-${name}`, private: true, type: "module", dependencies: peer.dependencies }, null, 2)}\n`,
  );
  npm(["install", "--prefix", dir, "--no-audit", "--loglevel=error"], dir);
  peer.afterInstall?.(dir);
  return dir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2);
  for (const name of names.length ? names : Object.keys(PEERS)) {
    console.error(`[peers] installing ${name} into ${join(PEERS_ROOT, name)}`);
    install(name);
  }
}
