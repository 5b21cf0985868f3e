#!/usr/bin/env node
/**
 * Packs every public workspace package into tarballs, as `npm publish` would upload them:
 *
 *   node scripts/pack.mjs [outDir]        (default: ./packed; prints one JSON line per tarball)
 *   node scripts/pack.mjs --app <dir>     (also points <dir>/package.json's `overrides` and `pnpm.overrides`
 *                                          for every `@wfkit/*` package at its tarball, and prints the
 *                                          command that installs the facade as `workflow`)
 *
 * Each package is staged in a temporary copy so the repository is never modified: the root LICENSE goes in,
 * and the facade package (named `workflow` inside this repository, where every example imports it by that
 * name) is published as `@wfkit/workflow`, because `workflow` on the npm registry is Vercel's. Users install
 * it under the name their code imports: `npm i workflow@npm:@wfkit/workflow`.
 *
 * Run `npm run build` first: the tarballs hold the built `dist/` folders.
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const FACADE_NAME = "@wfkit/workflow";
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The workspace folders whose package.json is not private, in the root's workspace order. */
export function publicPackages() {
  const rootPkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  const dirs = [];
  for (const pattern of rootPkg.workspaces) {
    const base = path.join(root, pattern.replace(/\/\*$/, ""));
    const candidates = pattern.endsWith("/*")
      ? readdirSync(base)
          .sort()
          .map((d) => path.join(base, d))
      : [base];
    for (const dir of candidates) {
      const file = path.join(dir, "package.json");
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, "utf8"));
      if (!pkg.private) dirs.push({ dir, name: pkg.name, version: pkg.version });
    }
  }
  return dirs;
}

export function packAll(outDir) {
  mkdirSync(outDir, { recursive: true });
  const packed = [];
  for (const { dir, name } of publicPackages()) {
    if (!existsSync(path.join(dir, "dist"))) {
      throw new Error(
        `${path.relative(root, dir)}/dist does not exist: run \`npm run build\` before packing.`,
      );
    }
    const stage = mkdtempSync(path.join(os.tmpdir(), "wfkit-pack-"));
    try {
      cpSync(dir, stage, {
        recursive: true,
        filter: (src) => !/[\\/](node_modules|\.turbo)([\\/]|$)/.test(path.relative(dir, src)),
      });
      cpSync(path.join(root, "LICENSE"), path.join(stage, "LICENSE"));
      const pkgFile = path.join(stage, "package.json");
      const pkg = JSON.parse(readFileSync(pkgFile, "utf8"));
      if (name === "workflow") pkg.name = FACADE_NAME;
      writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
      const [info] = JSON.parse(
        execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", outDir], {
          cwd: stage,
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        }),
      );
      packed.push({
        name,
        published: pkg.name,
        version: pkg.version,
        file: path.join(outDir, info.filename),
      });
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }
  return packed;
}

/**
 * Until the packages are on the registry, an app gets them from the tarballs: every `@wfkit/*` dependency
 * of the facade is overridden to its tarball (npm's `overrides`, pnpm's `pnpm.overrides`).
 */
export function pointAppAtTarballs(appDir, packed) {
  const file = path.join(appDir, "package.json");
  if (!existsSync(file))
    throw new Error(
      `${file} does not exist: pass --app the folder of your app's package.json (npm init -y).`,
    );
  const pkg = JSON.parse(readFileSync(file, "utf8"));
  const overrides = Object.fromEntries(
    packed.filter((p) => p.published !== FACADE_NAME).map((p) => [p.published, `file:${p.file}`]),
  );
  pkg.overrides = { ...pkg.overrides, ...overrides };
  pkg.pnpm = { ...pkg.pnpm, overrides: { ...pkg.pnpm?.overrides, ...overrides } };
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  return packed.find((p) => p.published === FACADE_NAME).file;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const appAt = args.indexOf("--app");
  const appDir = appAt >= 0 ? args.splice(appAt, 2)[1] : undefined;
  if (appAt >= 0 && !appDir) throw new Error("--app needs the folder of your app: --app ../my-app");
  const outDir = path.resolve(args[0] ?? path.join(root, "packed"));
  const packed = packAll(outDir);
  for (const p of packed) console.log(JSON.stringify(p));
  if (appDir) {
    const facade = pointAppAtTarballs(path.resolve(appDir), packed);
    console.log(
      `\n${path.resolve(appDir)}/package.json now overrides every @wfkit/* package with its tarball. In that folder:\n` +
        `  npm i workflow@file:${facade}      # pnpm add workflow@file:${facade}`,
    );
  }
}
