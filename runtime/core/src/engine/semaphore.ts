/**
 * Bounds how many things run at once (step bodies: Promise.all over 10,000 items must not start 10,000
 * network calls). FIFO so that steps start in the order workflow code asked for them.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  /** `option` names the setting the limit came from, for the error message. */
  constructor(
    readonly limit: number,
    option = "limit",
  ) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`${option} must be a positive integer, got ${limit}.`);
    }
  }

  get running(): number {
    return this.active;
  }

  acquire(): Promise<void> | undefined {
    if (this.active < this.limit) {
      this.active++;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
