import { readFileSync } from "node:fs";
import path from "node:path";
import { type Diagnostic, findProjectRoot, type TransformMode, transform } from "@wfkit/compiler";
import { type Command, Option } from "commander";
import type { CliIo } from "./io.js";

/** `file:line:col CODE message` then the hint on its own indented line. */
export function formatDiagnostic(d: Diagnostic): string {
  const severity = d.severity === "warning" ? " (warning)" : "";
  return `${d.file}:${d.line}:${d.column} ${d.code}${severity} ${d.message}\n  hint: ${d.hint}\n`;
}

/** `wf transform <file> [--mode m] [--project-root dir]`: prints one shape of a file as the compiler emits it. */
export function addTransformCommand(program: Command, io: CliIo): void {
  program
    .command("transform")
    .description("print the workflow, step or client shape the compiler makes of a source file")
    .argument("<file>", "source file (.ts, .tsx, .js, .jsx, …)")
    .addOption(
      new Option("-m, --mode <mode>", "which shape to print")
        .choices(["workflow", "step", "client"])
        .default("workflow"),
    )
    .option(
      "--project-root <dir>",
      "directory workflow and step IDs are relative to (default: current directory)",
    )
    .action((file: string, options: { mode: TransformMode; projectRoot?: string }) => {
      const projectRoot = options.projectRoot
        ? path.resolve(io.cwd(), options.projectRoot)
        : findProjectRoot(io.cwd());
      const filename = path.resolve(io.cwd(), file);
      let source: string;
      try {
        source = readFileSync(filename, "utf8");
      } catch (error) {
        io.err(`wf transform: cannot read ${filename}: ${(error as Error).message}\n`);
        io.exit(1);
        return;
      }
      const result = transform(source, { filename, projectRoot, mode: options.mode, sourceMaps: false });
      io.out(result.code.endsWith("\n") ? result.code : `${result.code}\n`);
      for (const d of result.diagnostics) io.err(formatDiagnostic(d));
      if (result.diagnostics.some((d) => d.severity === "error")) io.exit(1);
    });
}
