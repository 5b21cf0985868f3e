/**
 * The payload queue behind one hook inside a run. Payloads are delivered in log order (`hook_received`
 * events); one that arrives while nothing awaits the hook waits in the queue, so `for await` sees every
 * payload, including those that arrived before the workflow reached the loop. Every promise handed to
 * workflow code is made with the sandbox realm's Promise.
 */

type Take = "await" | "iterate";

interface Waiter {
  mode: Take;
  resolve(result: IteratorResult<unknown>): void;
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
  ) {}

  /** The next payload (`await hook`, mode "await") or iterator result (`for await`, mode "iterate"). */
  take(mode: Take): Promise<IteratorResult<unknown>> {
    const P = this.SandboxPromise;
    if (this.failure) return P.reject(this.failure.error);
    if (this.queue.length > 0) return P.resolve({ value: this.queue.shift(), done: false });
    if (this.disposed) {
      return mode === "iterate"
        ? P.resolve({ value: undefined, done: true })
        : P.reject(this.disposedError());
    }
    return new P((resolve, reject) => this.waiters.push({ mode, resolve, reject }));
  }

  /** An already-settled sandbox promise (the iterator's `return()`). */
  settled(result: IteratorResult<unknown>): Promise<IteratorResult<unknown>> {
    return this.SandboxPromise.resolve(result);
  }

  deliver(payload: unknown): void {
    if (this.disposed || this.failure) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve({ value: payload, done: false });
    else this.queue.push(payload);
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
      if (waiter.mode === "iterate") waiter.resolve({ value: undefined, done: true });
      else waiter.reject(this.disposedError());
    }
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}
