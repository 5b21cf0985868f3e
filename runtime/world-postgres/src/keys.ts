/**
 * Keys a caller chooses (run IDs, hook tokens, stream names) are refused when they contain NUL: they travel
 * through URLs and file names (the local world), which cannot carry it, so such a key could not be used
 * everywhere a run is. Payloads may contain NUL (text-codec.ts stores them exactly); lookups of a key with NUL
 * simply find nothing.
 */
import { WorldError } from "@wfkit/world";

/** Throws `WorldError(code)` naming the value when `value` contains NUL. */
export function checkKey(code: string, what: string, value: string, where: string): void {
  const at = value.indexOf("\u0000");
  if (at < 0) return;
  throw new WorldError(
    code,
    `${what} ${JSON.stringify(value)} ${where} contains a NUL character (U+0000) at index ${at}. Keys cannot ` +
      "hold it (URLs and file names refuse it): choose one without it.",
  );
}
