/**
 * Step tasks (the optional World capability in `types.ts`): the in-process implementation the memory world uses,
 * and `stepTasksOf`, which tells whether a world has the capability.
 */
import type {
  ClaimedStepTask,
  StepTask,
  StepTaskNotification,
  StepTaskOutcome,
  StepTaskRecord,
  World,
} from "./types.js";

/** The step task methods of a world that has them all. */
export type StepTaskWorld = World &
  Required<
    Pick<
      World,
      | "offerStepTasks"
      | "claimStepTasks"
      | "renewStepTask"
      | "completeStepTask"
      | "listStepTasks"
      | "removeStepTasks"
      | "subscribeStepTasks"
    >
  >;

/** The world, when it has the step task capability (all of its methods), else undefined. */
export function stepTasksOf(world: World): StepTaskWorld | undefined {
  return world.offerStepTasks &&
    world.claimStepTasks &&
    world.renewStepTask &&
    world.completeStepTask &&
    world.listStepTasks &&
    world.removeStepTasks &&
    world.subscribeStepTasks
    ? (world as StepTaskWorld)
    : undefined;
}

interface Row extends StepTaskRecord {
  /** Order of offer (claims take the oldest first). */
  offeredAt: number;
}

type Listener = (n: StepTaskNotification) => void;

/** Step tasks in plain objects. `runState` answers whether a run exists and whether it has finished. */
export class MemoryStepTasks {
  private readonly rows = new Map<string, Map<string, Row>>();
  private readonly listeners = new Set<Listener>();
  private nextToken = 1;
  private offers = 0;

  constructor(
    private readonly now: () => number,
    private readonly runState: (runId: string) => "missing" | "finished" | "unfinished",
    private readonly missing: (runId: string) => Error,
  ) {}

  offer(tasks: readonly StepTask[]): void {
    for (const t of tasks) {
      if (this.runState(t.runId) === "missing") throw this.missing(t.runId);
    }
    let offered = false;
    for (const t of tasks) {
      const run = this.rows.get(t.runId) ?? new Map<string, Row>();
      this.rows.set(t.runId, run);
      const row = run.get(t.correlationId);
      if (row && row.attempt > t.attempt) continue;
      if (row && row.attempt === t.attempt) {
        // The same attempt again: only a claim that expired (its claimer died) makes it claimable again.
        if (row.status === "claimed" && row.claim!.expiresAt <= this.now()) {
          row.status = "offered";
          offered = true;
        }
        continue;
      }
      run.set(t.correlationId, { ...copyTask(t), status: "offered", offeredAt: this.offers++ });
      offered = true;
    }
    if (offered) this.notify({ kind: "offered" });
  }

  claim(owner: string, ttlMs: number, limit: number): ClaimedStepTask[] {
    const now = this.now();
    const claimable: Row[] = [];
    for (const [runId, run] of this.rows) {
      if (this.runState(runId) !== "unfinished") continue;
      for (const row of run.values()) {
        if (row.status === "offered" || (row.status === "claimed" && row.claim!.expiresAt <= now))
          claimable.push(row);
      }
    }
    claimable.sort((a, b) => a.offeredAt - b.offeredAt);
    return claimable.slice(0, Math.max(0, limit)).map((row) => {
      row.status = "claimed";
      row.claim = { owner, token: this.nextToken++, expiresAt: now + ttlMs };
      return claimedOf(row);
    });
  }

  renew(task: ClaimedStepTask, ttlMs: number): ClaimedStepTask | undefined {
    const row = this.holding(task);
    if (row?.status !== "claimed") return undefined;
    row.claim = { ...row.claim!, expiresAt: this.now() + ttlMs };
    return claimedOf(row);
  }

  complete(task: ClaimedStepTask, outcome: StepTaskOutcome): boolean {
    const row = this.holding(task);
    if (!row) return false;
    if (row.status === "completed") return true;
    row.status = "completed";
    row.outcome = structuredClone(outcome);
    this.notify({
      kind: "completed",
      runId: row.runId,
      correlationId: row.correlationId,
      attempt: row.attempt,
      outcome: structuredClone(outcome),
    });
    return true;
  }

  list(runId: string): StepTaskRecord[] {
    if (this.runState(runId) === "missing") throw this.missing(runId);
    return [...(this.rows.get(runId)?.values() ?? [])]
      .sort((a, b) => (a.correlationId < b.correlationId ? -1 : a.correlationId > b.correlationId ? 1 : 0))
      .map(({ offeredAt: _, ...row }) => structuredClone(row));
  }

  remove(runId: string, correlationIds?: readonly string[]): void {
    const run = this.rows.get(runId);
    if (!run) return;
    if (!correlationIds) this.rows.delete(runId);
    else for (const cid of correlationIds) run.delete(cid);
  }

  subscribe(listener: Listener): () => void {
    const entry: Listener = (n) => listener(n);
    this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  clear(): void {
    this.listeners.clear();
  }

  /** The stored row when `task`'s claim is still the current one (same attempt, same claim token). */
  private holding(task: ClaimedStepTask): Row | undefined {
    const row = this.rows.get(task.runId)?.get(task.correlationId);
    if (!row || row.attempt !== task.attempt || row.claim?.token !== task.claim.token) return undefined;
    return row;
  }

  private notify(n: StepTaskNotification): void {
    for (const l of [...this.listeners]) {
      try {
        l(n);
      } catch (error) {
        console.error("[wfkit/world] a subscribeStepTasks() listener threw; the write stood.", error);
      }
    }
  }
}

function copyTask(t: StepTask): StepTask {
  return {
    runId: t.runId,
    correlationId: t.correlationId,
    attempt: t.attempt,
    stepName: t.stepName,
    input: t.input,
    runStartedAt: t.runStartedAt,
  };
}

function claimedOf(row: Row): ClaimedStepTask {
  return { ...copyTask(row), claim: { ...row.claim! } };
}
