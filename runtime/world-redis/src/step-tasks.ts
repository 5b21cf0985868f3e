/**
 * Step tasks on Redis (the optional step task methods of the World contract): the queue through which a run's
 * executor offers steps to any worker. The keyspace and the claim are in scripts/tasks.ts.
 *
 * Offers, renewals and completions are safe to send again after a lost answer (an offer of what is stored
 * changes nothing, a renewal or completion under the same claim recognises itself). A claim is not: its lost
 * answer leaves tasks claimed by nobody who knows it, which only delays them until the claim expires and any
 * worker takes them again (the same as a claimer that died).
 */
import {
  type ClaimedStepTask,
  RunNotFoundError,
  type StepTask,
  type StepTaskNotification,
  type StepTaskOutcome,
  type StepTaskRecord,
} from "@wfkit/world";
import type { Redis } from "ioredis";
import { connectionLost, idempotent, isLostAnswer, isUnreachable } from "./connection.js";
import type { Notifications } from "./notifications.js";
import { callScript, type ScriptReply } from "./scripts/index.js";

interface TaskState {
  a: number;
  n: number;
  s: "offered" | "claimed" | "completed";
  o?: string;
  t?: number;
  e?: number;
}

export class RedisStepTasks {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
    private readonly notifications: Notifications,
  ) {}

  async offer(tasks: readonly StepTask[]): Promise<void> {
    if (tasks.length === 0) return;
    const args = tasks.flatMap((t) => [t.runId, t.correlationId, t.attempt, JSON.stringify(taskOf(t))]);
    const offered: StepTaskNotification = { kind: "offered" };
    const reply = (await idempotent("an offer of step tasks", () =>
      callScript(this.client, "wfOfferTasks", this.prefix, [
        this.notifications.taskMessage(offered),
        tasks.length,
        ...args,
      ]),
    )) as ScriptReply[];
    if (reply[0] === "not_found") throw new RunNotFoundError(String(reply[1]));
    if (Number(reply[1]) > 0) this.notifications.taskChanged(offered);
  }

  async claim(owner: string, ttlMs: number, limit: number): Promise<ClaimedStepTask[]> {
    if (limit <= 0) return [];
    let reply: ScriptReply[];
    try {
      reply = (await callScript(this.client, "wfClaimTasks", this.prefix, [
        owner,
        Math.max(0, Math.round(ttlMs)),
        Math.floor(limit),
      ])) as ScriptReply[];
    } catch (error) {
      // Not resent (see the module comment): the caller claims again on its next notification or sweep.
      if (isLostAnswer(error) || isUnreachable(error)) throw connectionLost("a claim of step tasks", error);
      throw error;
    }
    const claimed: ClaimedStepTask[] = [];
    for (let k = 0; k + 2 < reply.length; k += 3) {
      const task = JSON.parse(reply[k] as string) as StepTask;
      claimed.push({
        ...task,
        claim: { owner, token: Number(reply[k + 1]), expiresAt: Number(reply[k + 2]) },
      });
    }
    return claimed;
  }

  async renew(task: ClaimedStepTask, ttlMs: number): Promise<ClaimedStepTask | undefined> {
    const reply = (await idempotent("the renewal of a step task claim", () =>
      callScript(this.client, "wfRenewTask", this.prefix, [
        task.runId,
        task.correlationId,
        task.attempt,
        task.claim.token,
        Math.max(0, Math.round(ttlMs)),
      ]),
    )) as ScriptReply[];
    if (reply.length === 0) return undefined;
    return { ...taskOf(task), claim: { ...task.claim, expiresAt: Number(reply[0]) } };
  }

  async complete(task: ClaimedStepTask, outcome: StepTaskOutcome): Promise<boolean> {
    const n: StepTaskNotification = {
      kind: "completed",
      runId: task.runId,
      correlationId: task.correlationId,
      attempt: task.attempt,
      outcome,
    };
    let resent = false;
    const reply = await idempotent(
      "the completion of a step task",
      () =>
        callScript(this.client, "wfCompleteTask", this.prefix, [
          task.runId,
          task.correlationId,
          task.attempt,
          task.claim.token,
          JSON.stringify(outcome),
          this.notifications.taskMessage(n),
        ]),
      () => {
        resent = true;
      },
    );
    // 1 after a resend: the lost first attempt stored it and published; our own echo of that is skipped, so
    // this instance's subscribers hear it now.
    if (reply === 2 || (reply === 1 && resent)) this.notifications.taskChanged(structuredClone(n));
    return reply === 1 || reply === 2;
  }

  async list(runId: string): Promise<StepTaskRecord[]> {
    const reply = (await idempotent(`a read of the step tasks of run ${runId}`, () =>
      callScript(this.client, "wfListTasks", this.prefix, [runId]),
    )) as ScriptReply[];
    if (reply[0] === 0) throw new RunNotFoundError(runId);
    const records: StepTaskRecord[] = [];
    for (let k = 1; k + 3 < reply.length; k += 4) {
      const task = JSON.parse(reply[k + 1] as string) as StepTask;
      const st = JSON.parse(reply[k + 2] as string) as TaskState;
      const record: StepTaskRecord = { ...task, attempt: st.a, status: st.s };
      if (st.s !== "offered" && st.o !== undefined) {
        record.claim = { owner: st.o, token: Number(st.t), expiresAt: Number(st.e) };
      }
      const outcome = reply[k + 3];
      if (st.s === "completed" && typeof outcome === "string") {
        record.outcome = JSON.parse(outcome) as StepTaskOutcome;
      }
      records.push(record);
    }
    return records.sort((a, b) =>
      a.correlationId < b.correlationId ? -1 : a.correlationId > b.correlationId ? 1 : 0,
    );
  }

  async remove(runId: string, correlationIds?: readonly string[]): Promise<void> {
    if (correlationIds !== undefined && correlationIds.length === 0) return;
    await idempotent(`the removal of step tasks of run ${runId}`, () =>
      callScript(this.client, "wfRemoveTasks", this.prefix, [runId, ...(correlationIds ?? [])]),
    );
  }

  subscribe(listener: (n: StepTaskNotification) => void): () => void {
    return this.notifications.subscribeTasks(listener);
  }
}

function taskOf(t: StepTask): StepTask {
  return {
    runId: t.runId,
    correlationId: t.correlationId,
    attempt: t.attempt,
    stepName: t.stepName,
    input: t.input,
    runStartedAt: t.runStartedAt,
  };
}
