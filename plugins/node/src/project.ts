/**
 * Where a project lives and how a workflow or step ID leads back to its source file. IDs name the module
 * relative to the project root (`workflow//./src/order//order`), so any process that opens the project can
 * find the code of a run it resumes.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";

/** `WORKFLOW_PROJECT_ROOT`, else the nearest folder above `from` (default: cwd) holding a package.json. */
export function findProjectRoot(from = process.cwd()): string {
  const fromEnv = process.env.WORKFLOW_PROJECT_ROOT;
  if (fromEnv) return path.resolve(fromEnv);
  let dir = path.resolve(from);
  for (;;) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(from);
    dir = parent;
  }
}

const SOURCE_EXTENSIONS = [".ts", ".tsx", ".mts", ".js", ".jsx", ".mjs"];

/** Splits `workflow//./src/order//order` into its module path and function name. */
export function parseId(id: string): { kind: "workflow" | "step"; modulePath: string; name: string } {
  const parts = id.split("//");
  const kind = parts[0];
  if ((kind !== "workflow" && kind !== "step") || parts.length < 3) {
    throw new Error(
      `"${id}" is not a workflow or step ID; IDs look like "workflow//./src/file//name" or "step//./src/file//name".`,
    );
  }
  return { kind, modulePath: parts[1]!, name: parts.slice(2).join("//") };
}

/** The source file an ID's module path names, or an error saying where we looked. */
export function resolveModuleFile(projectRoot: string, modulePath: string): string {
  const base = modulePath.startsWith("./")
    ? path.join(projectRoot, modulePath)
    : path.join(projectRoot, "node_modules", modulePath);
  const candidates = SOURCE_EXTENSIONS.map((ext) => base + ext).concat(
    SOURCE_EXTENSIONS.map((ext) => path.join(base, `index${ext}`)),
  );
  for (const file of candidates) {
    if (existsSync(file) && statSync(file).isFile()) return file;
  }
  throw new Error(
    `Cannot find the source of module "${modulePath}" under project root ${projectRoot} ` +
      `(tried ${base}{${SOURCE_EXTENSIONS.join(",")}}). Was the file renamed or moved since the run started? ` +
      "Set WORKFLOW_PROJECT_ROOT if the process runs from another folder.",
  );
}
