import type { Message } from "esbuild";

/** One problem found while building, with where it is when we know. */
export interface BuildProblem {
  message: string;
  /** Project-relative POSIX path. */
  file?: string;
  /** 1-based. */
  line?: number;
  /** 0-based. */
  column?: number;
}

/**
 * A build that cannot produce a bundle. `message` lists every problem (with `file:line:column` where known),
 * so printing the error is enough; tools read `problems` to show them one by one.
 */
export class BuildError extends Error {
  override name = "BuildError";

  constructor(
    readonly what: string,
    readonly problems: BuildProblem[],
  ) {
    super(`${what} failed:\n${problems.map((p) => `  ${formatProblem(p)}`).join("\n")}`);
  }
}

export function formatProblem(problem: BuildProblem): string {
  if (!problem.file) return problem.message;
  const where = problem.line ? `${problem.file}:${problem.line}:${problem.column ?? 0}` : problem.file;
  return `${where}: ${problem.message}`;
}

/** Notes esbuild adds about which plugin ran: noise to someone fixing their own code. */
const PLUGIN_NOTE = /^(The plugin "|This error came from the )/;

/** esbuild's messages as problems; the notes we attach (the compiler's hints) follow on their own lines. */
export function describeMessages(messages: Message[]): BuildProblem[] {
  return messages.map((m) => {
    const notes = m.notes.map((n) => n.text).filter((text) => text && !PLUGIN_NOTE.test(text));
    const message = [m.text, ...notes.map((n) => `    ${n}`)].join("\n");
    if (!m.location) return { message };
    return { message, file: m.location.file, line: m.location.line, column: m.location.column };
  });
}
