/**
 * Finds the files that declare `"use workflow"` / `"use step"`: the project's own sources, files outside the
 * root that they import by relative path, workspace packages it depends on, dependencies in `node_modules`
 * that ship workflow code, and folders reached through tsconfig `paths` aliases. Runs on every dev rebuild, so each file is first tested with `includes` on its text and
 * only candidates are parsed; verdicts are cached per file (by mtime and size) for the life of the process.
 */
import { type Dirent, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { transform } from "@wfkit/compiler";
import { globMatcher, globToRegExp } from "./glob.js";
import { reachableOutside } from "./outside-imports.js";
import { isSourceFile, mentionsDirective, relativePosix } from "./source-files.js";
import { pathAliasTargets } from "./tsconfig.js";

export interface DiscoverOptions {
  projectRoot: string;
  /** Globs (project-relative): when given, only project files (and alias targets) matching one are kept. */
  include?: string[];
  /** Globs (project-relative, `../` for folders outside): matching files and folders are skipped everywhere. */
  exclude?: string[];
  /** Look into dependencies and workspace packages (default true). */
  dependencies?: boolean;
}

/** Folders never walked in project or workspace sources: installs, build output, caches, data. */
function skipSourceDir(name: string): boolean {
  return (
    name === "node_modules" ||
    name === "dist" ||
    name === ".git" ||
    name === ".next" ||
    name === ".turbo" ||
    name.startsWith(".workflow")
  );
}

/** In an installed package the built files (`dist`) are the code, so only nested installs are skipped. */
function skipPackageDir(name: string): boolean {
  return name === "node_modules" || name === ".git";
}

interface PackageJson {
  name?: string;
  workspaces?: string[] | { packages?: string[] };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  workflow?: { directives?: boolean };
}

interface Verdict {
  mtimeMs: number;
  size: number;
  declares: boolean;
}

/** Per-process cache: a dev server calls discovery on every change, and most files did not change. */
const verdicts = new Map<string, Verdict>();

/**
 * Per-process cache of installed packages, keyed by folder and checked against the package.json's mtime and
 * size: installed code does not change between dev rebuilds (a reinstall rewrites package.json), so a warm
 * call costs one stat per dependency instead of one per file.
 */
const installedPackages = new Map<string, { mtimeMs: number; size: number; files: string[] }>();

function installedDirectiveFiles(dir: string, projectRoot: string): string[] {
  const stat = statSync(path.join(dir, "package.json"), { throwIfNoEntry: false });
  if (!stat) return [];
  const cached = installedPackages.get(dir);
  if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.files;
  const files: string[] = [];
  walk(
    dir,
    skipPackageDir,
    () => false,
    (file) => {
      if (declaresDirectives(file, projectRoot, false)) files.push(file);
    },
  );
  installedPackages.set(dir, { mtimeMs: stat.mtimeMs, size: stat.size, files });
  return files;
}

/** Absolute paths of every file that declares a workflow or a step, sorted. */
export async function discoverDirectiveFiles(options: DiscoverOptions): Promise<string[]> {
  const projectRoot = path.resolve(options.projectRoot);
  const include = globMatcher(options.include);
  const excludePatterns = (options.exclude ?? []).map((p) => globToRegExp(p));
  const excluded = (abs: string) => {
    if (excludePatterns.length === 0) return false;
    const rel = relativePosix(projectRoot, abs);
    return excludePatterns.some((r) => r.test(rel));
  };
  const found = new Set<string>();
  const walked = new Set<string>();

  const realRoot = safeRealpath(projectRoot) ?? projectRoot;
  /** True when the project walk already covers `abs` (inside the project, in no skipped folder). */
  const covered = (abs: string) =>
    isInside(abs, realRoot) && !relativePosix(realRoot, abs).split("/").some(skipSourceDir);

  /** Project files, whose relative imports may reach files outside the root. */
  const projectFiles: string[] = [];
  const scan = (root: string, skipDir: (name: string) => boolean, origin: "project" | "package") => {
    const real = safeRealpath(root);
    if (!real || walked.has(real)) return;
    walked.add(real);
    walk(root, skipDir, excluded, (file) => {
      if (origin === "project") projectFiles.push(file);
      if (origin === "project" && include && !include(relativePosix(projectRoot, file))) return;
      if (declaresDirectives(file, projectRoot, origin === "project")) found.add(file);
    });
  };

  scan(projectRoot, skipSourceDir, "project");

  for (const target of pathAliasTargets(path.join(projectRoot, "tsconfig.json"))) {
    if (covered(target)) continue;
    const stat = statSync(target, { throwIfNoEntry: false });
    if (stat?.isDirectory()) scan(target, skipSourceDir, "project");
    else if (stat?.isFile() && isSourceFile(target) && !excluded(target)) {
      if (declaresDirectives(target, projectRoot, true)) found.add(target);
    }
  }

  const outsideRoot = (file: string) => !isInside(file, projectRoot) && !isInside(file, realRoot);
  for (const file of reachableOutside(projectFiles, (f) => !outsideRoot(f) || excluded(f))) {
    if (isSourceFile(file) && declaresDirectives(file, projectRoot, true)) found.add(file);
  }

  if (options.dependencies !== false) {
    const workspaces = workspacePackages(projectRoot);
    const declarers = [projectRoot, ...[...workspaces.values()].filter((dir) => isInside(dir, projectRoot))];
    for (const declarer of declarers) {
      const pkg = readPackageJson(path.join(declarer, "package.json"));
      if (!pkg) continue;
      const runtime = { ...pkg.peerDependencies, ...pkg.optionalDependencies, ...pkg.dependencies };
      const names = new Set([...Object.keys(runtime), ...Object.keys(pkg.devDependencies ?? {})]);
      for (const name of names) {
        const workspaceDir = workspaces.get(name);
        if (workspaceDir) {
          if (!covered(workspaceDir)) scan(workspaceDir, skipSourceDir, "package");
          continue;
        }
        const dir = findInstalled(name, declarer);
        if (!dir || covered(dir)) continue;
        const manifest = readPackageJson(path.join(dir, "package.json"));
        // Dev dependencies are tooling (compilers, test runners: huge and never workflow code), so only a
        // declared flag brings them in; runtime dependencies are also searched for the directive strings.
        const flagged = manifest?.workflow?.directives === true;
        if ((flagged || name in runtime) && !walked.has(dir)) {
          walked.add(dir);
          for (const file of installedDirectiveFiles(dir, projectRoot)) if (!excluded(file)) found.add(file);
        }
      }
    }
  }

  return [...found].sort();
}

function walk(
  dir: string,
  skipDir: (name: string) => boolean,
  excluded: (abs: string) => boolean,
  onFile: (file: string) => void,
): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // vanished or unreadable while we looked: nothing to discover there
  }
  for (const entry of entries) {
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skipDir(entry.name) && !excluded(abs)) walk(abs, skipDir, excluded, onFile);
    } else if ((entry.isFile() || entry.isSymbolicLink()) && isSourceFile(entry.name) && !excluded(abs)) {
      // Symlinked folders are not followed (cycles); symlinked files are read like any other.
      onFile(abs);
    }
  }
}

/**
 * Cheap text test, then the compiler's verdict: a file declares directives when the compiler lists a workflow
 * or step in it. A project file whose directives the compiler rejects is kept too, so that the build shows
 * the error instead of silently leaving the file out.
 */
function declaresDirectives(file: string, projectRoot: string, keepErrors: boolean): boolean {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) return false;
  const cached = verdicts.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.declares;
  let declares = false;
  const source = readFileSync(file, "utf8");
  if (mentionsDirective(source)) {
    const out = transform(source, { filename: file, projectRoot, mode: "client", sourceMaps: false });
    declares =
      out.workflows.length > 0 ||
      out.steps.length > 0 ||
      (keepErrors && out.diagnostics.some((d) => d.severity === "error"));
  }
  verdicts.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, declares });
  return declares;
}

/** The workspace root at or above `projectRoot` and its packages, by name. */
function workspacePackages(projectRoot: string): Map<string, string> {
  const packages = new Map<string, string>();
  for (let dir = projectRoot; ; dir = path.dirname(dir)) {
    const pkg = readPackageJson(path.join(dir, "package.json"));
    const patterns = Array.isArray(pkg?.workspaces) ? pkg.workspaces : pkg?.workspaces?.packages;
    if (patterns) {
      for (const pkgDir of expandWorkspaces(dir, patterns)) {
        const name = readPackageJson(path.join(pkgDir, "package.json"))?.name;
        if (name) packages.set(name, pkgDir);
      }
      return packages;
    }
    if (path.dirname(dir) === dir) return packages;
  }
}

/** Folders holding a package.json that match the workspace globs (`packages/*`, `apps/**`, `tools/cli`). */
function expandWorkspaces(root: string, patterns: string[]): string[] {
  const positive = patterns
    .filter((p) => !p.startsWith("!"))
    .map((p) => p.replace(/^\.\//, "").replace(/\/$/, ""));
  const negative = patterns
    .filter((p) => p.startsWith("!"))
    .map((p) => globToRegExp(p.slice(1), { exact: true }));
  const dirs: string[] = [];
  for (const pattern of positive) {
    const segments = pattern.split("/");
    const firstWild = segments.findIndex((s) => /[*?{]/.test(s));
    if (firstWild === -1) {
      dirs.push(path.join(root, pattern));
      continue;
    }
    const base = path.join(root, ...segments.slice(0, firstWild));
    const depth = pattern.includes("**") ? 6 : segments.length - firstWild;
    const matcher = globToRegExp(pattern, { exact: true });
    collectDirs(base, depth, (dir) => {
      if (matcher.test(relativePosix(root, dir))) dirs.push(dir);
    });
  }
  return dirs.filter((dir) => {
    const rel = relativePosix(root, dir);
    return (
      !negative.some((r) => r.test(rel)) &&
      statSync(path.join(dir, "package.json"), { throwIfNoEntry: false })
    );
  });
}

function collectDirs(dir: string, depth: number, onDir: (dir: string) => void): void {
  if (depth === 0) return;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const abs = path.join(dir, entry.name);
    onDir(abs);
    collectDirs(abs, depth - 1, onDir);
  }
}

/** Node's lookup: `node_modules/<name>` in `from` and each folder above it; the real path (symlinks resolved). */
function findInstalled(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (statSync(path.join(candidate, "package.json"), { throwIfNoEntry: false }))
      return safeRealpath(candidate);
    if (path.dirname(dir) === dir) return undefined;
  }
}

function readPackageJson(file: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as PackageJson;
  } catch {
    return undefined;
  }
}

function safeRealpath(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}
