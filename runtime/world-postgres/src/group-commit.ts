/**
 * Group commit across runs. Every append or run creation is a transaction, and on a real disk each commit
 * waits for its WAL flush, so a burst of runs spends its time waiting on flushes rather than working. Calls
 * therefore go out at once while a connection is free, and only those that arrive while every connection is
 * busy are queued and sent together, as one call of a batch function (migration 4): one transaction and one
 * flush for many runs. A lone call (a sequential run, a quiet system) never waits for company. Reads of run
 * rows are grouped the same way (one `= ANY($1)` lookup), since `returnValue` of each run in a burst asks.
 *
 * A batch is all or nothing. When it fails for any reason other than a broken connection (a hook token
 * taken, a deadlock with another process), each of its calls is sent again alone, so each caller gets its
 * own answer and one bad call cannot fail the others. Items are ordered by run ID so that concurrent
 * batches lock runs in the same order.
 *
 * Hand-written rather than a queue library: what is grouped are Postgres function calls whose parameters
 * are already JSON text, and the grouping follows this pool's free connections.
 */
import type pg from "pg";
import { isConnectionError } from "./pg-errors.js";

export interface CallGroupOptions<P, R> {
  pool: pg.Pool;
  /** Calls in flight before new ones queue up (the pool's size: every connection may be busy). */
  maxInFlight: number;
  /**
   * Items per batch. Each holds its run's row lock until the batch commits, so a large batch delays the
   * runs at its front; 32 keeps that wait to a few milliseconds (and a batch's JSON small).
   */
  maxBatch?: number;
  /** The run an item belongs to (the batch's lock order). */
  runIdOf(params: P): string;
  /** The query for one item alone, and how its answer reads. */
  one(params: P): pg.QueryConfig;
  answerOne(res: pg.QueryResult): R;
  /** The query for several items, and each item's answer from it (by position in `items`). */
  many(items: P[]): pg.QueryConfig;
  answerMany(res: pg.QueryResult, items: P[]): R[];
}

/** How many calls carried how many items (benchmarks and tests read these). */
export interface GroupStats {
  calls: number;
  batches: number;
  batchedItems: number;
  /** Items of failed batches that were sent again alone. */
  resentAlone: number;
}

interface Pending<P, R> {
  params: P;
  resolve: (answer: R) => void;
  reject: (error: unknown) => void;
}

export class CallGroup<P, R> {
  private readonly queue: Pending<P, R>[] = [];
  private inFlight = 0;
  private readonly maxBatch: number;
  readonly stats: GroupStats = { calls: 0, batches: 0, batchedItems: 0, resentAlone: 0 };

  constructor(private readonly o: CallGroupOptions<P, R>) {
    this.maxBatch = Math.max(1, o.maxBatch ?? 32);
  }

  send(params: P): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ params, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.o.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      const done = batch.length === 1 ? this.sendAlone(batch[0]!) : this.sendBatch(batch);
      void done.finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async sendAlone(p: Pending<P, R>): Promise<void> {
    this.stats.calls++;
    try {
      p.resolve(this.o.answerOne(await this.o.pool.query(this.o.one(p.params))));
    } catch (error) {
      p.reject(error);
    }
  }

  private async sendBatch(batch: Pending<P, R>[]): Promise<void> {
    this.stats.calls++;
    this.stats.batches++;
    this.stats.batchedItems += batch.length;
    const ids = new Map(batch.map((p) => [p, this.o.runIdOf(p.params)]));
    batch.sort((a, b) => (ids.get(a)! < ids.get(b)! ? -1 : ids.get(a)! > ids.get(b)! ? 1 : 0));
    const items = batch.map((p) => p.params);
    let answers: R[];
    try {
      answers = this.o.answerMany(await this.o.pool.query(this.o.many(items)), items);
    } catch (error) {
      // Nothing of the batch was committed. A broken connection goes back to each caller, whose retry reads
      // the database to learn whether its call landed; anything else is resolved item by item.
      if (isConnectionError(error)) {
        for (const p of batch) p.reject(error);
        return;
      }
      this.stats.resentAlone += batch.length;
      await Promise.all(batch.map((p) => this.sendAlone(p)));
      return;
    }
    for (const [i, p] of batch.entries()) p.resolve(answers[i]!);
  }
}
