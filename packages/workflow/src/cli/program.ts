import { Command } from "commander";
import { addBuildCommand } from "./build-command.js";
import { type CliIo, processIo } from "./io.js";
import { addPostgresCommand } from "./postgres-command.js";
import { addTransformCommand } from "./transform-command.js";
import { addWorkerCommand } from "./worker-command.js";

/**
 * The `wf` command line. Each command lives in its own module and is added here; pass an `io` to run the
 * program in-process (tests) without touching the real stdout, stderr or exit code.
 */
export function createProgram(io: CliIo = processIo): Command {
  const program = new Command("wf")
    .description("durable workflows: compile, run and inspect")
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError();
  addTransformCommand(program, io);
  addBuildCommand(program, io);
  addPostgresCommand(program, io);
  addWorkerCommand(program, io);
  return program;
}
