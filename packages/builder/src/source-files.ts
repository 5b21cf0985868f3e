import path from "node:path";
import { mayContainDirective } from "@wfkit/compiler";
import type { Loader } from "esbuild";

/** Extensions of files that may declare directives and that discovery reads. */
export const SOURCE_EXTENSIONS: ReadonlySet<string> = new Set([".ts", ".tsx", ".mts", ".js", ".jsx", ".mjs"]);

/** Matches every script file esbuild may load (adds `.cts`/`.cjs`, which never skip the compiler). */
export const SCRIPT_FILTER = /\.[cm]?[jt]sx?$/;

/**
 * The cheap test that runs before any parse: a file with neither directive nor a quoted near miss of one
 * (`"use workfow"`) cannot declare a directive or a typo the compiler must report, and a text scan is far
 * cheaper than parsing. The compiler confirms the rest.
 */
export function mentionsDirective(source: string): boolean {
  return mayContainDirective(source);
}

export function isSourceFile(file: string): boolean {
  return SOURCE_EXTENSIONS.has(path.extname(file)) && !file.endsWith(".d.ts") && !file.endsWith(".d.mts");
}

/** The esbuild loader for a file, by extension; the compiler keeps the source language, so this still holds. */
export function loaderFor(file: string): Loader {
  const ext = path.extname(file);
  if (ext === ".tsx") return "tsx";
  if (ext === ".ts" || ext === ".mts" || ext === ".cts") return "ts";
  if (ext === ".jsx") return "jsx";
  return "js";
}

/** POSIX-style path of `file` relative to `root`, the form used in messages, globs and the manifest. */
export function relativePosix(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join("/");
}
