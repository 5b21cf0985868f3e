/**
 * Every Lua script of the world, registered on its command connection. ioredis sends each as EVALSHA and, on a
 * connection whose server does not know it yet (first use, or a server restarted without its script cache),
 * loads it with one EVAL; a NOSCRIPT refusal means the script did not run, so that fallback never runs one twice.
 */
import type { Redis } from "ioredis";
import { DELIVER, LIST_DELIVERIES } from "./deliveries.js";
import { SET_GATE } from "./gates.js";
import { ACQUIRE_LEASE, RELEASE_LEASE, RENEW_LEASE } from "./leases.js";
import { APPEND, CREATE_RUN, HOOK_BY_TOKEN, READ_EVENTS } from "./runs.js";
import { READ_STREAM, WRITE_STREAM } from "./streams.js";
import { CLAIM_TASKS, COMPLETE_TASK, LIST_TASKS, OFFER_TASKS, REMOVE_TASKS, RENEW_TASK } from "./tasks.js";

const SCRIPTS = {
  wfCreateRun: CREATE_RUN,
  wfAppend: APPEND,
  wfReadEvents: READ_EVENTS,
  wfHookByToken: HOOK_BY_TOKEN,
  wfAcquireLease: ACQUIRE_LEASE,
  wfRenewLease: RENEW_LEASE,
  wfReleaseLease: RELEASE_LEASE,
  wfDeliver: DELIVER,
  wfListDeliveries: LIST_DELIVERIES,
  wfWriteStream: WRITE_STREAM,
  wfReadStream: READ_STREAM,
  wfOfferTasks: OFFER_TASKS,
  wfClaimTasks: CLAIM_TASKS,
  wfRenewTask: RENEW_TASK,
  wfCompleteTask: COMPLETE_TASK,
  wfListTasks: LIST_TASKS,
  wfRemoveTasks: REMOVE_TASKS,
  wfSetGate: SET_GATE,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
export type ScriptArg = string | number;
export type ScriptReply = null | number | string | ScriptReply[];

export function defineScripts(client: Redis): void {
  for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 0, lua });
}

/** Runs a script defined by `defineScripts` with the world's prefix as ARGV[1]. */
export function callScript(
  client: Redis,
  name: ScriptName,
  prefix: string,
  args: readonly ScriptArg[],
): Promise<ScriptReply> {
  const fn = (client as unknown as Record<ScriptName, (...a: ScriptArg[]) => Promise<ScriptReply>>)[name];
  return fn.call(client, prefix, ...args);
}
