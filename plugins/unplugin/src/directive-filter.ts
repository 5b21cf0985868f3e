/**
 * The cheap checks that keep the plugin off the hot path: only script files outside the build output are
 * considered, and only those whose text contains a directive string are parsed by the compiler.
 */
import path from "node:path";
import { mayContainDirective } from "@wfkit/compiler";

const SCRIPT = /\.(?:[cm]?[jt]sx?)$/;

/** The file path of a bundler module ID, without a query (`?v=123`) or hash; undefined for virtual IDs. */
export function fileOfId(id: string): string | undefined {
  if (id.startsWith("\0") || id.startsWith("virtual:")) return undefined;
  const file = id.replace(/[?#].*$/, "");
  return path.isAbsolute(file) ? file : undefined;
}

/** True for a project script the plugin may transform (not a dependency's build output, not ours). */
export function isTransformable(id: string, outDir: string): boolean {
  const file = fileOfId(id);
  if (!file || !SCRIPT.test(file) || file.endsWith(".d.ts")) return false;
  const rel = path.relative(outDir, file);
  return rel.startsWith("..") || path.isAbsolute(rel);
}

/** A directive, or a quoted near miss of one (`"use workfow"`) that the compiler must report. */
export function mentionsDirective(code: string): boolean {
  return mayContainDirective(code);
}
