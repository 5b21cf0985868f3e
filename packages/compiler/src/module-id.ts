import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";

/**
 * The `<module>` part of workflow and step IDs, in WDK's scheme (`workflow//src/order.ts//checkout`):
 *
 * - a file inside the project root: its POSIX path relative to the root, extension kept, no leading `./`;
 * - a file inside `node_modules/`: `<package>@<version>/<path inside the package>`, so the ID does not depend
 *   on where (or how deeply) the package is installed;
 * - a file outside the root (a sibling folder, a workspace package): the same package form when the package
 *   that holds it can be found again from the root by its name (installed, linked, or an ancestor of the
 *   root), else its path relative to the root (`../shared/flows.ts`).
 *
 * Every part only depends on the file and the root, never on `process.cwd()`, so the build, the client shape
 * and the process that runs the code compute the same ID.
 */
export function moduleSpecifier(filename: string, projectRoot: string): string {
  const root = path.resolve(projectRoot);
  const absolute = path.resolve(root, filename);
  const posix = toPosix(absolute);
  const nodeModules = posix.lastIndexOf("/node_modules/");
  if (nodeModules !== -1) {
    const inside = posix.slice(nodeModules + "/node_modules/".length);
    const segments = inside.split("/");
    const nameLength = segments[0]?.startsWith("@") ? 2 : 1;
    const pkgDir = path.join(
      absolute.slice(0, nodeModules + "/node_modules/".length),
      ...segments.slice(0, nameLength),
    );
    const pkg = readPackage(pkgDir);
    const name = pkg?.name ?? segments.slice(0, nameLength).join("/");
    return packageSpecifier(name, pkg?.version, segments.slice(nameLength).join("/"));
  }
  const relative = toPosix(path.relative(root, absolute));
  if (!relative.startsWith("../") && !path.isAbsolute(relative)) return relative;
  const owner = owningPackage(path.dirname(absolute));
  if (owner?.name && sameDir(locatePackage(owner.name, root), owner.dir)) {
    return packageSpecifier(owner.name, owner.version, toPosix(path.relative(owner.dir, absolute)));
  }
  return relative;
}

export function workflowId(moduleSpec: string, name: string): string {
  return `workflow//${moduleSpec}//${name}`;
}

export function stepId(moduleSpec: string, name: string): string {
  return `step//${moduleSpec}//${name}`;
}

/** Splits a `workflow//…//name` or `step//…//name` ID; undefined when the text has another shape. */
export function parseFunctionId(
  id: string,
): { kind: "workflow" | "step"; moduleSpecifier: string; name: string } | undefined {
  const first = id.indexOf("//");
  if (first === -1) return undefined;
  const kind = id.slice(0, first);
  if (kind !== "workflow" && kind !== "step") return undefined;
  const rest = id.slice(first + 2);
  const second = rest.indexOf("//");
  if (second <= 0 || second === rest.length - 2) return undefined;
  return { kind, moduleSpecifier: rest.slice(0, second), name: rest.slice(second + 2) };
}

const LEGACY_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"];

/**
 * The source file a module specifier names, seen from `projectRoot`, or undefined. Also reads the earlier
 * extension-less form (`./src/order`, `some-pkg/dist/steps`), which runs recorded before the change carry.
 */
export function resolveModuleSpecifier(spec: string, projectRoot: string): string | undefined {
  const root = path.resolve(projectRoot);
  if (spec.startsWith("./")) return withExtension(path.join(root, spec));
  const direct = path.join(root, spec);
  if (!spec.startsWith("@") && isFile(direct)) return direct;
  if (spec.startsWith("../")) return withExtension(direct);
  const match = /^((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?(?:\/(.*))?$/.exec(spec);
  if (!match) return undefined;
  const dir = locatePackage(match[1]!, root);
  if (!dir) return undefined;
  const file = path.join(dir, match[3] ?? "");
  return isFile(file) ? file : withExtension(file);
}

/**
 * Where a package of that name is, seen from `root`: Node's `node_modules` lookup from the root upwards
 * (workspace packages are linked there), else the root or one of its ancestors when it has that name.
 */
export function locatePackage(name: string, root: string): string | undefined {
  for (let dir = path.resolve(root); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (existsSync(path.join(candidate, "package.json"))) return realpath(candidate);
    if (readPackage(dir)?.name === name) return realpath(dir);
    if (path.dirname(dir) === dir) return undefined;
  }
}

function packageSpecifier(name: string, version: string | undefined, subpath: string): string {
  const pkg = version ? `${name}@${version}` : name;
  return subpath ? `${pkg}/${subpath}` : pkg;
}

interface PackageInfo {
  dir: string;
  name?: string;
  version?: string;
}

/** The nearest folder at or above `dir` with a package.json. */
function owningPackage(dir: string): PackageInfo | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    const pkg = readPackage(d);
    if (pkg) return { dir: d, ...pkg };
    if (path.dirname(d) === d) return undefined;
  }
}

/** package.json reads are cached for the life of the process: every compiled file asks. */
const packages = new Map<string, { name?: string; version?: string } | null>();

function readPackage(dir: string): { name?: string; version?: string } | undefined {
  const cached = packages.get(dir);
  if (cached !== undefined) return cached ?? undefined;
  let info: { name?: string; version?: string } | null = null;
  try {
    const json = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as Record<string, unknown>;
    info = {
      ...(typeof json.name === "string" && json.name ? { name: json.name } : {}),
      ...(typeof json.version === "string" && json.version ? { version: json.version } : {}),
    };
  } catch {
    info = null;
  }
  packages.set(dir, info);
  return info ?? undefined;
}

function withExtension(base: string): string | undefined {
  for (const ext of LEGACY_EXTENSIONS) if (isFile(base + ext)) return base + ext;
  for (const ext of LEGACY_EXTENSIONS)
    if (isFile(path.join(base, `index${ext}`))) return path.join(base, `index${ext}`);
  return undefined;
}

function isFile(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}

function realpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

function sameDir(a: string | undefined, b: string): boolean {
  return a !== undefined && realpath(a) === realpath(b);
}

function toPosix(p: string): string {
  return p.split(path.sep).join("/");
}

/**
 * The project root IDs are relative to when none is given: the nearest folder at or above `from` holding a
 * package.json (`WORKFLOW_PROJECT_ROOT` wins), so running from a subfolder gives the same IDs.
 */
export function findProjectRoot(from: string = process.cwd()): string {
  const fromEnv = process.env.WORKFLOW_PROJECT_ROOT;
  if (fromEnv) return path.resolve(fromEnv);
  const start = path.resolve(from);
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) return start;
  }
}
