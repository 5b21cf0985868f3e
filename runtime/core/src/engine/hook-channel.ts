/**
 * The payload queue behind one hook inside a run. Payloads are delivered in log order (`hook_received`
 * events); one that arrives while nothing awaits the hook waits in the queue, so `for await` sees every
 * payload, including those that arrived before the workflow reached the loop. Every promise handed to
 * workflow code is made with the sandbox realm's Promise.
 */

type Take = "await" | "iterate";

interface Waiter {
  mode: Take;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

export class HookChannel {
  private readonly queue: unknown[] = [];
  private readonly waiters: Waiter[] = [];
  private disposed = false;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly SandboxPromise: PromiseConstructor,
    /** The error `await hook` gets once the hook is disposed and its queue is empty. */
    private readonly disposedError: () => unknown,
    /** An iterator result of the sandbox realm. */
    private readonly result: (value: unknown, done: boolean) => IteratorResult<unknown> = (value, done) =>
      ({ value, done }) as IteratorResult<unknown>,
  ) {}

  /** The next payload (`await hook`, mode "await") or iterator result (`for await`, mode "iterate"). */
  take(mode: Take): Promise<unknown> {
    const P = this.SandboxPromise;
    if (this.failure) return P.reject(this.failure.error);
    if (this.queue.length > 0) return P.resolve(this.shape(mode, this.queue.shift()));
    if (this.disposed) {
      return mode === "iterate" ? P.resolve(this.result(undefined, true)) : P.reject(this.disposedError());
    }
    return new P((resolve, reject) => this.waiters.push({ mode, resolve, reject }));
  }

  /** An already-settled sandbox promise of a finished iteration (the iterator's `return(value)`). */
  finished(value: unknown): Promise<IteratorResult<unknown>> {
    return this.SandboxPromise.resolve(this.result(value, true));
  }

  deliver(payload: unknown): void {
    if (this.disposed || this.failure) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(this.shape(waiter.mode, payload));
    else this.queue.push(payload);
  }

  private shape(mode: Take, payload: unknown): unknown {
    return mode === "await" ? payload : this.result(payload, false);
  }

  /** The hook could not be created (token conflict): every await, now and later, rejects with `error`. */
  fail(error: unknown): void {
    this.failure = { error };
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  /** `hook.dispose()`: `for await` loops end once the queue is drained; plain awaits reject. */
  end(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.queue.length > 0) return;
    for (const waiter of this.waiters.splice(0)) {
      if (waiter.mode === "iterate") waiter.resolve(this.result(undefined, true));
      else waiter.reject(this.disposedError());
    }
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}
