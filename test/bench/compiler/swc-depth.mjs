#!/usr/bin/env node
/**
 * How deep swc can nest each kind of construct before it overflows the native stack (SIGSEGV), next to the
 * depth at which the compiler's nesting scan (packages/compiler/src/nesting.ts) refuses it. Re-run after
 * upgrading @swc/core or Node: every `margin` (crash depth / refused depth) must stay well above 1.
 * Each probe runs in a fresh process (a crash kills it), bisecting the depth. Uses the BUILT compiler
 * (`npx turbo run build`). Prints JSON lines. Slow: about 10 s per shape.
 *
 *   node test/bench/compiler/swc-depth.mjs [--thread worker|main] [--api transform|parse] [--shapes a,b]
 *
 * `worker` is a thread with Node's default 4 MB stack (like the one `module.register` hooks run on, where
 * `workflow/register` parses and strips types); `main` has the 8 MB of `ulimit -s`. `transform` is
 * `transformSync` (type stripping, as in workflow/register), `parse` the compiler's `parseSync`.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isMainThread, Worker, workerData } from "node:worker_threads";

const here = path.dirname(fileURLToPath(import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const rep = (s, n) => s.repeat(n);
const shapes = {
  parens: (n) => `x = ${rep("(", n)}1${rep(")", n)};`,
  arrays: (n) => `x = ${rep("[", n)}1${rep("]", n)};`,
  objects: (n) => `x = ${rep("{a:", n)}1${rep("}", n)};`,
  calls: (n) => `x = ${rep("f(", n)}1${rep(")", n)};`,
  blocks: (n) => `${rep("{", n)}${rep("}", n)}`,
  functions: (n) => `${rep("function f() {", n)}${rep("}", n)}`,
  arrows: (n) => `x = ${rep("a => ", n)}1;`,
  templates: (n) => `x = ${rep("`${", n)}1${rep("}`", n)};`,
  jsx: (n) => `x = ${rep("<a>", n)}${rep("</a>", n)};`,
  ifs: (n) => `${rep("if (a) ", n)}x;`,
  elseIfs: (n) => `if (a) {}${rep(" else if (a) {}", n)}`,
  labels: (n) => `${rep("l: ", n)}x;`,
  unary: (n) => `x = ${rep("!", n)}1;`,
  assignments: (n) => `a = ${rep("a = ", n)}1;`,
  conditionals: (n) => `x = ${rep("a ? 1 : ", n)}1;`,
  binary: (n) => `x = 1${rep(" + 1", n)};`,
  members: (n) => `x = a${rep(".b", n)};`,
  methodChain: (n) => `x = a${rep(".b()", n)};`,
  typeArguments: (n) => `let x: ${rep("A<", n)}B${rep(">", n)};`,
  tupleTypes: (n) => `type X = ${rep("[", n)}1${rep("]", n)};`,
  keyof: (n) => `type X = ${rep("keyof ", n)}T;`,
  taggedTemplates: (n) => `x = f${rep("``", n)};`,
};

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};

/** Child: parse or transform one source, in this thread or a 4 MB worker; a crash is a signal. */
async function probe([shape, n, thread, api]) {
  if (thread === "worker" && isMainThread) {
    const worker = new Worker(SELF, { workerData: [shape, n, thread, api] });
    worker.on("exit", (code) => {
      process.exitCode = code;
    });
    return;
  }
  const swc = createRequire(path.resolve(here, "../../../packages/compiler/package.json"))("@swc/core");
  const tsx = shape === "jsx";
  const source = `"use step";\n${shapes[shape](Number(n))}\n`;
  try {
    if (api === "parse") swc.parseSync(source, { syntax: "typescript", tsx, target: "es2022" });
    else
      swc.transformSync(source, {
        filename: tsx ? "a.tsx" : "a.ts",
        swcrc: false,
        configFile: false,
        jsc: { parser: { syntax: "typescript", tsx }, target: "es2022" },
        module: { type: "es6" },
      });
  } catch {
    // a syntax error is an answer too: no crash
  }
}

function crashes(shape, n, thread, api) {
  const r = spawnSync(process.execPath, [SELF, "--probe", shape, String(n), thread, api], {
    encoding: "utf8",
  });
  return r.signal !== null || r.status !== 0;
}

async function main() {
  const thread = arg("--thread", "worker");
  const api = arg("--api", "transform");
  const only = arg("--shapes", "")?.split(",").filter(Boolean);
  const { findExcessiveNesting, NESTING_LIMIT } = await import(
    pathToFileURL(path.resolve(here, "../../../packages/compiler/dist/nesting.js")).href
  );
  for (const shape of only?.length ? only : Object.keys(shapes)) {
    const options = { typescript: true, jsx: shape === "jsx", limit: NESTING_LIMIT };
    let lo = 1;
    let hi = 1_000_000;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (findExcessiveNesting(shapes[shape](mid), options)) hi = mid;
      else lo = mid;
    }
    const refused = hi;
    let ok = 0;
    let crash = null;
    for (let n = 250; n <= 1_000_000; n *= 2) {
      if (crashes(shape, n, thread, api)) {
        crash = n;
        break;
      }
      ok = n;
    }
    while (crash !== null && crash - ok > Math.max(5, ok / 100)) {
      const mid = Math.floor((ok + crash) / 2);
      if (crashes(shape, mid, thread, api)) crash = mid;
      else ok = mid;
    }
    const row = { shape, thread, api, crashesAt: crash, refusedAt: refused, limit: NESTING_LIMIT };
    if (crash !== null) row.margin = Number((crash / refused).toFixed(2));
    process.stdout.write(`${JSON.stringify(row)}\n`);
  }
}

if (!isMainThread) await probe(workerData);
else if (process.argv[2] === "--probe") await probe(process.argv.slice(3));
else await main();
