import { readFileSync } from "node:fs";
import { Command } from "commander";
import { addBuildCommand } from "./build-command.js";
import { addExportCommand } from "./export-command.js";
import { addHealthCommand } from "./health-command.js";
import { addInspectCommand } from "./inspect-command.js";
import { type CliIo, processIo } from "./io.js";
import { addPostgresCommand } from "./postgres-command.js";
import { addSchedulesCommands } from "./schedules-command.js";
import { addSteerCommands } from "./steer-commands.js";
import { addStreamsCommand } from "./streams-command.js";
import { addTransformCommand } from "./transform-command.js";
import { addVerifyCommand } from "./verify-command.js";
import { addWebCommand } from "./web-command.js";
import { addWorkerCommand } from "./worker-command.js";

/** This package's version (src/cli and dist/cli are both two folders below package.json). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return String(manifest.version);
}

/**
 * The `wf` command line. Each command lives in its own module and is added here; pass an `io` to run the
 * program in-process (tests) without touching the real stdout, stderr or exit code.
 */
export function createProgram(io: CliIo = processIo): Command {
  const program = new Command("wf")
    .description("durable workflows: compile, run, inspect and steer")
    .version(packageVersion(), "-V, --version", "print the version of wf")
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError();
  addTransformCommand(program, io);
  addBuildCommand(program, io);
  addWorkerCommand(program, io);
  addPostgresCommand(program, io);
  addInspectCommand(program, io);
  addSteerCommands(program, io);
  addStreamsCommand(program, io);
  addSchedulesCommands(program, io);
  addExportCommand(program, io);
  addHealthCommand(program, io);
  addWebCommand(program, io);
  addVerifyCommand(program, io);
  return program;
}
