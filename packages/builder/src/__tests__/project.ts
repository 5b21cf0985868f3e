import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const created: string[] = [];
const IN_REPO = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", ".test-projects");

/**
 * Writes a small project (`files`: relative path → text) into a fresh temporary folder and returns its path.
 * `insideRepo` puts it under this package, so bare imports of workspace packages (`workflow`) resolve.
 */
export function makeProject(files: Record<string, string>, { insideRepo = false } = {}): string {
  const parent = insideRepo ? IN_REPO : os.tmpdir();
  mkdirSync(parent, { recursive: true });
  const root = mkdtempSync(path.join(parent, "wfkit-builder-"));
  created.push(root);
  writeFiles(root, files);
  return root;
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

export function removeProjects(): void {
  for (const root of created.splice(0)) rmSync(root, { recursive: true, force: true });
  try {
    rmdirSync(IN_REPO); // only when empty: another test file may still be using it
  } catch {}
}
