/**
 * Where a stack frame should point: `file:line:column` of a piece of source text, 1-based as Node prints stack
 * positions, found by searching the file rather than written down, so the tests follow edits of the projects.
 */
import { readFileSync } from "node:fs";

/** The position of the first occurrence of `text` in `file`; fails naming the file when it is not there. */
export function positionOf(file: string, text: string): string {
  const lines = readFileSync(file, "utf8").split("\n");
  const index = lines.findIndex((line) => line.includes(text));
  if (index === -1) throw new Error(`${file} has no line containing ${JSON.stringify(text)}`);
  return `${file}:${index + 1}:${lines[index]!.indexOf(text) + 1}`;
}

/** The first `at …` line of a stack: the frame that threw. */
export function throwingFrame(stack: string): string | undefined {
  return stack.split("\n").find((line) => /^\s+at /.test(line));
}
