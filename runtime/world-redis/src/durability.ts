/**
 * What the Redis server promises to keep, read once when a world opens. The world never changes server
 * settings (they belong to whoever runs Redis); it reports what it found, warns once per process when runs would
 * not survive a server restart, and refuses to start when asked to require durability.
 *
 * - `appendonly yes` + `appendfsync always`: an append is answered after it is written and fsynced (Redis fsyncs
 *   before it sends the replies of an event-loop turn), so an acknowledged append survives a crash of the server
 *   process, of the machine and a power loss.
 * - `appendonly yes` + `appendfsync everysec` (Redis's default when AOF is on): written to the kernel before the
 *   answer, fsynced once a second: survives a crash of the Redis process; a crash of the machine can lose about
 *   the last second (up to two) of acknowledged appends. A lost tail is a consistent prefix of history: a run
 *   resumes from an earlier point and steps whose results were lost run again.
 * - `appendonly yes` + `appendfsync no`: the kernel flushes when it likes (~30 s on Linux).
 * - `appendonly no`: only RDB snapshots (`save`), if any: everything since the last snapshot is lost on restart;
 *   with `save ""` nothing survives a restart.
 * - `maxmemory-policy` other than `noeviction`: under memory pressure Redis deletes keys, i.e. runs. Always unsafe.
 */
import { isWorldError, WorldError } from "@wfkit/world";
import type { Redis } from "ioredis";
import { idempotent } from "./connection.js";

export interface DurabilityReport {
  /** `appendonly`: true/false, or undefined when the server would not tell (CONFIG and INFO refused). */
  aof: boolean | undefined;
  /** `appendfsync` ("always" | "everysec" | "no"), undefined when CONFIG is refused (INFO does not show it). */
  fsync: string | undefined;
  /** `save` (RDB snapshot schedule; "" = none), undefined when CONFIG is refused. */
  save: string | undefined;
  /** `maxmemory-policy`, undefined when neither CONFIG nor INFO tell. */
  evictionPolicy: string | undefined;
  /** How the settings were read. */
  source: "config" | "info" | "unknown";
}

/** `true`: AOF must be on (any fsync policy); `"always"`: AOF with `appendfsync always`. */
export type DurabilityRequirement = boolean | "always";

export async function readDurability(client: Redis): Promise<DurabilityReport> {
  // Answers lost to a broken connection are asked again; only a refusal (CONFIG renamed or forbidden) falls back.
  const ask = <T>(what: string, call: () => Promise<T>) => idempotent(`reading the server's ${what}`, call);
  try {
    const get = async (name: string) => {
      const reply = (await ask(name, () => client.config("GET", name))) as string[];
      return reply[1];
    };
    const [aof, fsync, save, evictionPolicy] = await Promise.all([
      get("appendonly"),
      get("appendfsync"),
      get("save"),
      get("maxmemory-policy"),
    ]);
    if (aof === undefined) throw new Error("CONFIG GET answered nothing");
    return { aof: aof === "yes", fsync, save, evictionPolicy, source: "config" };
  } catch (error) {
    if (isWorldError(error, "CONNECTION_LOST")) throw error;
    // Managed services often rename or forbid CONFIG; INFO still says whether AOF is on.
  }
  try {
    const info = await ask("persistence", () => client.info("persistence"));
    const memory = await ask("memory settings", () => client.info("memory"));
    const aof = /^aof_enabled:(\d)/m.exec(info)?.[1];
    const evictionPolicy = /^maxmemory_policy:(\S+)/m.exec(memory)?.[1];
    return {
      aof: aof === undefined ? undefined : aof === "1",
      fsync: undefined,
      save: undefined,
      evictionPolicy,
      source: "info",
    };
  } catch (error) {
    if (isWorldError(error, "CONNECTION_LOST")) throw error;
    return {
      aof: undefined,
      fsync: undefined,
      save: undefined,
      evictionPolicy: undefined,
      source: "unknown",
    };
  }
}

/** What the report means for runs, in one sentence per problem (empty: nothing to say). */
export function durabilityProblems(r: DurabilityReport): string[] {
  const problems: string[] = [];
  if (r.aof === false) {
    problems.push(
      r.save
        ? `AOF is off (appendonly no): only RDB snapshots (save "${r.save}") persist, so runs and events written ` +
            "since the last snapshot are lost when Redis restarts."
        : "AOF is off (appendonly no) and RDB snapshots are off: every run is lost when Redis restarts.",
    );
  } else if (r.aof === undefined) {
    problems.push(
      "the server refused CONFIG GET and INFO, so whether it persists anything (AOF) is unknown.",
    );
  } else if (r.fsync === "no") {
    problems.push("AOF is on with appendfsync no: a machine crash can lose the last ~30 s of appends.");
  }
  if (r.evictionPolicy !== undefined && r.evictionPolicy !== "noeviction") {
    problems.push(
      `maxmemory-policy is ${r.evictionPolicy}: under memory pressure Redis deletes keys, including runs. ` +
        "Use maxmemory-policy noeviction for a workflow store.",
    );
  }
  return problems;
}

/** Refuses to start when `required` is not met (the error names the settings to change). */
export function checkRequirement(
  r: DurabilityReport,
  required: DurabilityRequirement | undefined,
  where: string,
): void {
  if (!required) return;
  const unmet: string[] = [];
  if (r.aof !== true)
    unmet.push(r.aof === false ? "appendonly is no" : "appendonly is unknown (CONFIG refused)");
  if (required === "always" && r.fsync !== "always") {
    unmet.push(`appendfsync is ${r.fsync ?? "unknown (CONFIG refused)"}, not always`);
  }
  if (r.evictionPolicy !== undefined && r.evictionPolicy !== "noeviction") {
    unmet.push(`maxmemory-policy is ${r.evictionPolicy}, not noeviction`);
  }
  if (unmet.length === 0) return;
  throw new WorldError(
    "REDIS_NOT_DURABLE",
    `The Redis world was asked to require durability (${required === "always" ? '"always"' : "AOF"}) but ` +
      `${where}: ${unmet.join("; ")}. Set appendonly yes${required === "always" ? " and appendfsync always" : ""} ` +
      "(redis.conf or CONFIG SET) and maxmemory-policy noeviction, or drop requireDurability / " +
      "WORKFLOW_REDIS_REQUIRE_AOF.",
  );
}

const warned = new Set<string>();

/** Warns once per process and server about settings that lose runs (a test suite opens many worlds). */
export function warnOnce(r: DurabilityReport, where: string, warn: (message: string) => void): void {
  const problems = durabilityProblems(r);
  if (problems.length === 0 || warned.has(where)) return;
  warned.add(where);
  warn(
    `[wfkit/world-redis] Redis at ${where} does not keep runs safely: ${problems.join(" ")} ` +
      "See the durability section of @wfkit/world-redis's README; set requireDurability (or " +
      "WORKFLOW_REDIS_REQUIRE_AOF=1) to refuse such a server.",
  );
}
