/**
 * Where a project lives and how a workflow or step ID leads back to its source file. IDs name the module
 * relative to the project root (`workflow//src/order.ts//order`) or by package (`pkg@1.0.0/dist/x.js`), so
 * any process that opens the project can find the code of a run it resumes.
 */
import {
  findProjectRoot as compilerProjectRoot,
  parseFunctionId,
  resolveModuleSpecifier,
} from "@wfkit/compiler";

/** `WORKFLOW_PROJECT_ROOT`, else the nearest folder above `from` (default: cwd) holding a package.json. */
export function findProjectRoot(from = process.cwd()): string {
  return compilerProjectRoot(from);
}

/** Splits `workflow//src/order.ts//order` into its module path and function name. */
export function parseId(id: string): { kind: "workflow" | "step"; modulePath: string; name: string } {
  const parsed = parseFunctionId(id);
  if (!parsed) {
    throw new Error(
      `"${id}" is not a workflow or step ID; IDs look like "workflow//src/file.ts//name" or "step//src/file.ts//name".`,
    );
  }
  return { kind: parsed.kind, modulePath: parsed.moduleSpecifier, name: parsed.name };
}

/** The source file an ID's module path names, or an error saying where we looked. */
export function resolveModuleFile(projectRoot: string, modulePath: string): string {
  const file = resolveModuleSpecifier(modulePath, projectRoot);
  if (file) return file;
  throw new Error(
    `Cannot find the source of module "${modulePath}" under project root ${projectRoot} (a path relative to ` +
      "the root, or a package installed in node_modules). Was the file renamed or moved since the run " +
      "started? Set WORKFLOW_PROJECT_ROOT if the process runs from another folder.",
  );
}
