import path from "node:path";

/**
 * The `<module>` part of workflow and step IDs (DESIGN §3): the file's path relative to the project root,
 * POSIX separators, last extension removed, with a leading `./`; for a file inside `node_modules/`, the
 * package name plus subpath (`some-pkg/dist/steps`), so IDs do not depend on where a package is installed.
 */
export function moduleSpecifier(filename: string, projectRoot: string): string {
  const absolute = path.resolve(projectRoot, filename);
  const posix = absolute.split(path.sep).join("/");
  const withoutExt = stripExtension(posix);
  const nodeModules = withoutExt.lastIndexOf("/node_modules/");
  if (nodeModules !== -1) return withoutExt.slice(nodeModules + "/node_modules/".length);
  const relative = path.relative(projectRoot, absolute).split(path.sep).join("/");
  const rel = stripExtension(relative);
  return rel.startsWith("../") ? rel : `./${rel}`;
}

function stripExtension(p: string): string {
  const slash = p.lastIndexOf("/");
  const dot = p.lastIndexOf(".");
  return dot > slash + 1 ? p.slice(0, dot) : p;
}

export function workflowId(moduleSpec: string, name: string): string {
  return `workflow//${moduleSpec}//${name}`;
}

export function stepId(moduleSpec: string, name: string): string {
  return `step//${moduleSpec}//${name}`;
}
