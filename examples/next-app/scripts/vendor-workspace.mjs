/**
 * Inside this monorepo only: copies `workflow` and the workspace packages it depends on (package.json and
 * dist/) into this app's node_modules/.
 *
 * Why: npm links workspace packages as symlinks to folders outside node_modules, and Next (Turbopack and
 * webpack) never treats a package whose real path is outside node_modules as external, even when
 * `serverExternalPackages` names it (vercel/next.js#84388). `workflow` must be external so the app, the
 * generated routes and the step bundle share one runtime. An app that installs `workflow` from a registry
 * has a real node_modules/workflow and needs none of this.
 */
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import path from "node:path";

const app = path.resolve(process.argv[2] ?? process.cwd());
const target = path.join(app, "node_modules");
const seen = new Set();

function vendor(name, from) {
  if (seen.has(name)) return;
  const pkgJson = findPackageJson(name, from);
  if (!pkgJson) return; // not installed: an optional dependency
  const dir = path.dirname(realpathSync(pkgJson));
  // Only workspace packages (outside any node_modules) need a copy; the rest resolve as installed.
  if (dir.split(path.sep).includes("node_modules")) return;
  seen.add(name);
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  if (!existsSync(path.join(dir, "dist")))
    throw new Error(`${name} has no dist/: run \`npx turbo run build\` in the repository root first`);
  const out = path.join(target, name);
  if (existsSync(out) && lstatSync(out).isSymbolicLink()) rmSync(out);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(path.join(dir, "package.json"), path.join(out, "package.json"));
  cpSync(path.join(dir, "dist"), path.join(out, "dist"), { recursive: true });
  if (existsSync(path.join(dir, "bin")))
    cpSync(path.join(dir, "bin"), path.join(out, "bin"), { recursive: true });
  for (const dep of Object.keys(pkg.dependencies ?? {})) vendor(dep, dir);
}

/** Node's lookup (node_modules folders upward); `exports` need not list package.json. */
function findPackageJson(name, from) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name, "package.json");
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

vendor("workflow", app);
console.log(`vendored ${[...seen].join(", ")} into ${path.relative(process.cwd(), target) || target}`);
