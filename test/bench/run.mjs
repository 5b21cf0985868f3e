// `npm run bench`: runs every benchmark in its own process (so one's heap never skews another's) and
// prints one JSON document: { machine, date, suites: { engine, compiler } }. Not a test: nothing here asserts.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const suites = { engine: "engine/run.mjs", compiler: "compiler/run.mjs", peers: "peers/run.mjs" };
const only = process.argv[2];
const out = {
  machine: {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  },
  date: new Date().toISOString(),
  suites: {},
};
for (const [name, script] of Object.entries(suites)) {
  if (only && only !== name) continue;
  if (name === "peers" && !existsSync(path.join(here, ".peers"))) {
    out.suites[name] = { skipped: "peers are not installed: run `node test/bench/peers/install.mjs` first" };
    continue;
  }
  const res = spawnSync(process.execPath, ["--expose-gc", path.join(here, script)], {
    encoding: "utf8",
    maxBuffer: 64 * 2 ** 20,
  });
  if (res.status !== 0) {
    out.suites[name] = { error: `exit ${res.status}`, stderr: res.stderr.slice(-4000) };
    continue;
  }
  try {
    out.suites[name] = JSON.parse(res.stdout);
  } catch {
    out.suites[name] = { error: "did not print JSON", stdout: res.stdout.slice(-4000) };
  }
}
console.log(JSON.stringify(out, null, 2));
