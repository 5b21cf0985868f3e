/**
 * Where a world keeps things in Redis: every key and the notification channel start with the world's prefix, so
 * several apps (or test cases) share one server without seeing each other. The Lua scripts build the same keys
 * from the prefix (see `scripts/common.ts`); this module is the JavaScript side of that layout, and the README's
 * keyspace table documents both.
 */
import { WorldError } from "@wfkit/world";

export const DEFAULT_PREFIX = "wf:";
/** Characters that are safe in keys, channel names and `CLIENT SETNAME` (which refuses spaces). */
const PREFIX_PATTERN = /^[A-Za-z0-9:_.{}-]{1,64}$/;

export function checkPrefix(prefix: string): string {
  if (typeof prefix !== "string" || !PREFIX_PATTERN.test(prefix)) {
    throw new WorldError(
      "INVALID_CONFIG",
      `Redis key prefix ${JSON.stringify(prefix)} is not allowed: use 1-64 characters of A-Z a-z 0-9 : _ . { } - ` +
        `(for example "${DEFAULT_PREFIX}" or "myapp:wf:").`,
    );
  }
  return prefix;
}

/** Run IDs become parts of keys and of the `runId\0correlationId` members of the step task queues. */
export function checkRunId(runId: string): string {
  if (typeof runId !== "string" || runId.length === 0 || runId.length > 200 || runId.includes("\u0000")) {
    throw new WorldError(
      "INVALID_RUN_ID",
      `Run ID ${JSON.stringify(String(runId).slice(0, 40))} cannot be stored: use 1-200 characters without NUL.`,
    );
  }
  return runId;
}

/** The member of the run listing indexes: fixed-width creation time, then the ID, so that lexical order is
 * (createdAt, runId) order and ZRANGE BYLEX pages through runs by keyset. */
export function indexMember(createdAt: number, runId: string): string {
  return `${String(Math.max(0, Math.floor(createdAt))).padStart(15, "0")}:${runId}`;
}

/** The run ID inside an index member. */
export function runIdOfMember(member: string): string {
  return member.slice(16);
}

/** A stream's key suffix: length-prefixed run ID so that no (run, name) pair can collide with another. */
export function streamSuffix(runId: string, name: string): string {
  return `${runId.length}:${runId}:${name}`;
}

export class Keys {
  constructor(readonly prefix: string) {}

  run(runId: string): string {
    return `${this.prefix}run:${runId}`;
  }
  events(runId: string): string {
    return `${this.prefix}ev:${runId}`;
  }
  steps(runId: string): string {
    return `${this.prefix}steps:${runId}`;
  }
  waits(runId: string): string {
    return `${this.prefix}waits:${runId}`;
  }
  hooks(runId: string): string {
    return `${this.prefix}hooks:${runId}`;
  }
  get tokens(): string {
    return `${this.prefix}tokens`;
  }
  get wake(): string {
    return `${this.prefix}wake`;
  }
  get leases(): string {
    return `${this.prefix}leases`;
  }
  get allRuns(): string {
    return `${this.prefix}runs`;
  }
  runsByStatus(status: string): string {
    return `${this.prefix}runs:s:${status}`;
  }
  runsByWorkflow(workflowName: string): string {
    return `${this.prefix}runs:w:${workflowName}`;
  }
  get deliveryRuns(): string {
    return `${this.prefix}dlvruns`;
  }
  tasks(runId: string): string {
    return `${this.prefix}tasks:${runId}`;
  }
  taskStates(runId: string): string {
    return `${this.prefix}taskst:${runId}`;
  }
  taskOutcomes(runId: string): string {
    return `${this.prefix}taskout:${runId}`;
  }
  stream(runId: string, name: string): string {
    return `${this.prefix}st:${streamSuffix(runId, name)}`;
  }
  streamMeta(runId: string, name: string): string {
    return `${this.prefix}stm:${streamSuffix(runId, name)}`;
  }
  get channel(): string {
    return `${this.prefix}notify`;
  }
}
