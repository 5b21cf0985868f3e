/**
 * After `wf build`: which workflows changed their step sequence since the previous build in the same folder (the
 * manifest's `fingerprint`), and whether the configured world has runs of them in flight. Such runs replay on the
 * new code and may diverge; the warning points at `wf verify`, which checks each run.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { CliIo } from "./io.js";
import { openWorld, type WorldFlags } from "./world-options.js";

interface ManifestLike {
  workflows?: Record<string, { fingerprint?: string }>;
}

/** The manifest a previous build left in `outDir`, if any (read before building over it). */
export function readPreviousManifest(outDir: string): ManifestLike | undefined {
  const file = path.join(outDir, "manifest.json");
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ManifestLike;
  } catch {
    return undefined;
  }
}

/** Workflows whose fingerprint differs from the previous build's, or that the new build no longer has. */
export function changedWorkflows(previous: ManifestLike | undefined, next: ManifestLike): string[] {
  const changed: string[] = [];
  for (const [id, before] of Object.entries(previous?.workflows ?? {})) {
    if (!before.fingerprint) continue;
    const after = next.workflows?.[id];
    if (!after || after.fingerprint !== before.fingerprint) changed.push(id);
  }
  return changed;
}

const UNFINISHED = ["pending", "running", "paused"] as const;

/** Warning lines for changed workflows that have runs in flight in the configured world. */
export async function inFlightWarnings(
  changed: string[],
  next: ManifestLike,
  flags: WorldFlags,
  io: CliIo,
  buildDir: string,
  timeoutMs = 5_000,
): Promise<string[]> {
  if (changed.length === 0) return [];
  let opened: Awaited<ReturnType<typeof openWorld>> | undefined;
  try {
    const counting = (async () => {
      opened = await openWorld(flags, io);
      const counts = new Map<string, number>();
      for (const id of changed) {
        const page = await opened.world.listRuns({ status: [...UNFINISHED], workflowName: id, limit: 1000 });
        if (page.items.length > 0) counts.set(id, page.items.length + (page.nextCursor ? 1 : 0));
      }
      return counts;
    })();
    const counts = await Promise.race([
      counting,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
    const rel = path.relative(io.cwd(), buildDir) || ".";
    return [...counts].map(([id, n]) => {
      const what = next.workflows?.[id] ? "changed its step sequence" : "is no longer in the build";
      const runs = `${n}${n > 1000 ? "+" : ""} run${n === 1 ? "" : "s"}`;
      return (
        `workflow ${id} ${what} and has ${runs} in flight, which replay on the new code and may diverge: ` +
        `run \`wf verify --build ${rel}\` before deploying`
      );
    });
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    // No world here yet (a fresh checkout, a CI machine): nothing can be in flight in it.
    if (/there is no \w+ world at/.test(message)) return [];
    return [
      `${changed.length} workflow${changed.length === 1 ? "" : "s"} changed their step sequence ` +
        `(${changed.join(", ")}), and the world could not be checked for runs in flight (${message})`,
    ];
  } finally {
    void opened?.close().catch(() => {});
  }
}
