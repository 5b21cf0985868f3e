/**
 * A world's subscribers, and the messages that carry changes to other processes over its pub/sub channel
 * (`<prefix>notify`). Every script that changes something PUBLISHes a message in the same atomic step; the world
 * that made the change delivers it to its own subscribers right after the script answered, and skips the echo
 * that comes back through its subscriber connection (recognised by the instance's origin ID), so every
 * subscriber hears each change once.
 *
 * Messages are JSON with a type `t`: `r` run notification, `s` stream write, `t` step task notification.
 */
import { randomBytes } from "node:crypto";
import {
  Notifier,
  type RunNotification,
  type RunRecord,
  type StepTaskNotification,
  StreamListeners,
} from "@wfkit/world";

type Kind = RunNotification["kind"];
type TaskListener = (n: StepTaskNotification) => void;

/** A completed task's outcome rides in the message up to this size; bigger ones are read by the executor. */
const MAX_OUTCOME_BYTES = 16_384;

export class Notifications {
  readonly origin = randomBytes(8).toString("base64url");
  private readonly ownStart = `{"o":${JSON.stringify(this.origin)},`;
  private readonly runs = new Notifier();
  /** Runs with per-run subscribers, and how many (re-read after a gap in the subscription). */
  private readonly watched = new Map<string, number>();
  private readonly streams = new StreamListeners();
  /** Streams with subscribers, and how many (all told to re-read after a gap in the subscription). */
  private readonly watchedStreams = new Map<string, { runId: string; name: string; count: number }>();
  private readonly taskListeners = new Set<TaskListener>();

  subscribe(listener: (n: RunNotification) => void, runId?: string): () => void {
    const off = this.runs.subscribe(listener, runId);
    if (runId === undefined) return off;
    this.watched.set(runId, (this.watched.get(runId) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      const n = (this.watched.get(runId) ?? 1) - 1;
      if (n <= 0) this.watched.delete(runId);
      else this.watched.set(runId, n);
    };
  }

  subscribeStream(runId: string, name: string, listener: () => void): () => void {
    const off = this.streams.subscribe(runId, name, listener);
    const key = JSON.stringify([runId, name]);
    const entry = this.watchedStreams.get(key) ?? { runId, name, count: 0 };
    entry.count++;
    this.watchedStreams.set(key, entry);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      if (--entry.count <= 0 && this.watchedStreams.get(key) === entry) this.watchedStreams.delete(key);
    };
  }

  streamChanged(runId: string, name: string): void {
    this.streams.notify(runId, name);
  }

  subscribeTasks(listener: TaskListener): () => void {
    const entry: TaskListener = (n) => listener(n);
    this.taskListeners.add(entry);
    return () => void this.taskListeners.delete(entry);
  }

  // ---------------------------------------------------------------- messages this instance publishes

  runMessage(run: Pick<RunRecord, "runId" | "lastSeq" | "status">, kind: Kind): string {
    return JSON.stringify({
      o: this.origin,
      t: "r",
      runId: run.runId,
      lastSeq: run.lastSeq,
      status: run.status,
      kind,
    });
  }

  streamMessage(runId: string, name: string): string {
    return JSON.stringify({ o: this.origin, t: "s", runId, name });
  }

  taskMessage(n: StepTaskNotification): string {
    if (n.kind === "completed" && n.outcome && JSON.stringify(n.outcome).length > MAX_OUTCOME_BYTES) {
      const { outcome: _, ...rest } = n;
      return JSON.stringify({ o: this.origin, t: "t", ...rest });
    }
    return JSON.stringify({ o: this.origin, t: "t", ...n });
  }

  // ---------------------------------------------------------------- delivery

  runChanged(run: Pick<RunRecord, "runId" | "lastSeq" | "status">, kind: Kind): void {
    this.runs.notify({ runId: run.runId, lastSeq: run.lastSeq, status: run.status, kind });
  }

  taskChanged(n: StepTaskNotification): void {
    for (const l of [...this.taskListeners]) {
      try {
        l(n);
      } catch (error) {
        console.error("[wfkit/world-redis] a subscribeStepTasks() listener threw; the write stood.", error);
      }
    }
  }

  /** A message from the channel; our own (already delivered) and unreadable ones are skipped. */
  received(raw: string): void {
    // Every change this instance makes comes back here: skip those without parsing them (the messages built in
    // JavaScript start with the origin; the few built in Lua are recognised after parsing).
    if (raw.startsWith(this.ownStart)) return;
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return;
    }
    if (m.o === this.origin || typeof m !== "object" || m === null) return;
    if (m.t === "r" && typeof m.runId === "string") {
      this.runChanged(
        { runId: m.runId, lastSeq: Number(m.lastSeq), status: m.status as RunRecord["status"] },
        m.kind as Kind,
      );
    } else if (m.t === "s" && typeof m.runId === "string" && typeof m.name === "string") {
      this.streamChanged(m.runId, m.name);
    } else if (m.t === "t") {
      const { o: _o, t: _t, ...n } = m;
      this.taskChanged(n as unknown as StepTaskNotification);
    }
  }

  /**
   * The subscription came back after a gap in which messages were lost (Redis pub/sub keeps nothing for a
   * disconnected subscriber): stream readers re-read, claimers look for tasks, and every per-run subscriber is
   * told where its run is now, so a caller waiting for a run's end cannot miss an end during the gap.
   */
  async resync(
    readRuns: (runIds: string[]) => Promise<Pick<RunRecord, "runId" | "lastSeq" | "status">[]>,
  ): Promise<void> {
    for (const { runId, name } of [...this.watchedStreams.values()]) this.streamChanged(runId, name);
    this.taskChanged({ kind: "offered" });
    const ids = [...this.watched.keys()];
    if (ids.length === 0) return;
    for (const run of await readRuns(ids)) {
      const ended = run.status === "completed" || run.status === "failed" || run.status === "cancelled";
      this.runChanged(run, ended ? "finished" : "appended");
    }
  }

  clear(): void {
    this.runs.clear();
    this.watched.clear();
    this.streams.clear();
    this.watchedStreams.clear();
    this.taskListeners.clear();
  }
}
