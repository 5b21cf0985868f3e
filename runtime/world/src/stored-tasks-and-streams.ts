/**
 * The step task and stream methods of a world that keeps them in stores of its own (Postgres, Redis, SQLite),
 * written once as `StoredSchedules` writes the schedule methods: each refuses a closed world, then asks its store.
 * A world class extends this and supplies both stores; how a stream reader is woken (`subscribeStream`) and
 * whether streams can be listed stay the world's own.
 */
import { StoredSchedules } from "./schedules.js";
import type {
  ClaimedStepTask,
  StepTask,
  StepTaskNotification,
  StepTaskOutcome,
  StepTaskRecord,
  StreamPage,
} from "./types.js";

/** Where a world keeps its step tasks; the methods mean what the World methods of the same names say. */
export interface StepTaskStore {
  offer(tasks: readonly StepTask[]): Promise<void>;
  claim(owner: string, ttlMs: number, limit: number): Promise<ClaimedStepTask[]>;
  renew(task: ClaimedStepTask, ttlMs: number): Promise<ClaimedStepTask | undefined>;
  complete(task: ClaimedStepTask, outcome: StepTaskOutcome): Promise<boolean>;
  list(runId: string): Promise<StepTaskRecord[]>;
  remove(runId: string, correlationIds?: readonly string[]): Promise<void>;
  subscribe(listener: (n: StepTaskNotification) => void): () => void;
}

/** Where a world keeps run output streams (`writeStream`, `readStream`). */
export interface StreamStore {
  write(
    runId: string,
    name: string,
    chunks: readonly string[],
    close: boolean,
  ): Promise<{ nextIndex: number }>;
  read(runId: string, name: string, opts?: { startIndex?: number; limit?: number }): Promise<StreamPage>;
}

export abstract class StoredTasksAndStreams extends StoredSchedules {
  protected abstract readonly stepTasks: StepTaskStore;
  protected abstract readonly streams: StreamStore;

  async writeStream(
    runId: string,
    name: string,
    chunks: readonly string[],
    opts: { close?: boolean } = {},
  ): Promise<{ nextIndex: number }> {
    this.assertOpen();
    return this.streams.write(runId, name, chunks, opts.close === true);
  }

  async readStream(
    runId: string,
    name: string,
    opts?: { startIndex?: number; limit?: number },
  ): Promise<StreamPage> {
    this.assertOpen();
    return this.streams.read(runId, name, opts);
  }

  async offerStepTasks(tasks: readonly StepTask[]): Promise<void> {
    this.assertOpen();
    return this.stepTasks.offer(tasks);
  }

  async claimStepTasks(owner: string, ttlMs: number, limit: number): Promise<ClaimedStepTask[]> {
    this.assertOpen();
    return this.stepTasks.claim(owner, ttlMs, limit);
  }

  async renewStepTask(task: ClaimedStepTask, ttlMs: number): Promise<ClaimedStepTask | undefined> {
    this.assertOpen();
    return this.stepTasks.renew(task, ttlMs);
  }

  async completeStepTask(task: ClaimedStepTask, outcome: StepTaskOutcome): Promise<boolean> {
    this.assertOpen();
    return this.stepTasks.complete(task, outcome);
  }

  async listStepTasks(runId: string): Promise<StepTaskRecord[]> {
    this.assertOpen();
    return this.stepTasks.list(runId);
  }

  async removeStepTasks(runId: string, correlationIds?: readonly string[]): Promise<void> {
    this.assertOpen();
    return this.stepTasks.remove(runId, correlationIds);
  }

  subscribeStepTasks(listener: (n: StepTaskNotification) => void): () => void {
    return this.stepTasks.subscribe(listener);
  }
}
