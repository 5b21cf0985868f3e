/**
 * Rebuilds for dev servers (the Vite plugin, `next dev`). Saves arrive in bursts (save-all, formatters), so
 * a request made while a rebuild runs queues exactly one more, which covers every edit made meanwhile.
 * `settled()` is what a request to the app waits for, so that a run started right after a save uses the
 * new code. A failed rebuild is reported and does not stop later ones: the user fixes the file and saves.
 *
 * A build starts only after a short quiet period: a save that truncates a file and then writes it (Node's
 * writeFile, many editors) reaches the watcher as two changes, and a build between them would read an
 * empty file, drop its steps, and serve a run started meanwhile without them.
 */
export interface RebuildReport<T> {
  built(result: T): void;
  failed(error: unknown): void;
}

export class RebuildQueue<T> {
  private queued = false;
  private tail: Promise<void>;

  /** `running`: a build already under way (the dev server's first), which later rebuilds wait for. */
  constructor(
    private readonly build: () => Promise<T>,
    private readonly report: RebuildReport<T>,
    running?: Promise<unknown>,
    private readonly quietMs = 50,
  ) {
    this.tail = Promise.resolve(running).then(
      () => {},
      () => {},
    );
  }

  request(): void {
    if (this.queued) return;
    this.queued = true;
    this.tail = this.tail.then(async () => {
      // Requests made during the quiet period join this build (queued stays true until it starts).
      await new Promise((resolve) => setTimeout(resolve, this.quietMs));
      this.queued = false;
      try {
        this.report.built(await this.build());
      } catch (error) {
        this.report.failed(error);
      }
    });
  }

  /** Resolves once every rebuild requested so far has finished; never rejects. */
  settled(): Promise<void> {
    return this.tail;
  }
}
