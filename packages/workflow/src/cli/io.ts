/** Where a command writes and how it reports failure; injectable so commands can be tested in-process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Sets the process exit code (never exits outright, so pending output is flushed). */
  exit(code: number): void;
  cwd(): string;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  exit: (code) => {
    process.exitCode = code;
  },
  cwd: () => process.cwd(),
};
