/**
 * The few file operations the local world's files share: whole writes and reads at an offset (a single
 * `writeSync`/`readSync` may move fewer bytes than asked), and the errors that tell an operator what to do
 * when the data directory refuses a write.
 */
import { readSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { WorldError } from "@wfkit/world";

/** Writes all of `buf`; a failure part-way (a full disk) leaves a torn record that readers skip. */
export function writeAll(fd: number, buf: Buffer): void {
  let written = 0;
  while (written < buf.length) written += writeSync(fd, buf, written, buf.length - written);
}

/** Reads up to `length` bytes at `position`; fewer when the file is shorter. */
export function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

const PERMISSION_CODES = new Set(["EACCES", "EPERM", "EROFS"]);

export function isPermissionError(e: unknown): boolean {
  return PERMISSION_CODES.has((e as NodeJS.ErrnoException)?.code ?? "");
}

/**
 * A write refused by the file system's permissions: reading the same directory works (the CLI inspects
 * data another user's app wrote), so the message says what is missing and how to get it.
 */
export function notWritableError(path: string, e: unknown): WorldError {
  const code = (e as NodeJS.ErrnoException).code;
  const dir = dirname(path);
  const who = typeof process.getuid === "function" ? ` (uid ${process.getuid()})` : "";
  const why =
    code === "EROFS"
      ? "it is on a read-only file system"
      : `this process${who} has no write permission there (${code})`;
  const error = new WorldError(
    "DATA_DIR_NOT_WRITABLE",
    `The local world cannot write ${path}: ${why}. Reading works without it (runs can be listed and read); ` +
      `to write, run as the owner of ${dir}, grant write permission there (chmod/chown), or use a data ` +
      "directory this process may write (WORKFLOW_LOCAL_DATA_DIR).",
  );
  (error as Error & { cause?: unknown }).cause = e;
  return error;
}
