/**
 * Workflow code may start a step, let it fail, and only await it later (`const p = a(); await b(); await p`).
 * Between the failure and the `await`, the sandbox promise is rejected without a handler, and Node, whose
 * unhandled-rejection tracking is per isolate and so covers vm realms too, would crash the process (its
 * default `--unhandled-rejections=throw`). For workflow code such a rejection means nothing: the run's fate
 * is its workflow promise, which the engine always observes. So rejections of sandbox-realm promises are
 * ignored, and every other rejection keeps Node's behaviour: the app's own listeners see it, and with none
 * it is raised as an uncaught exception exactly as Node would.
 */
const REALMS_KEY = Symbol.for("wfkit.sandboxPromisePrototypes");

interface Registry {
  prototypes: WeakSet<object>;
  listener: (reason: unknown, promise: Promise<unknown>) => void;
}

function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  let r = g[REALMS_KEY];
  if (!r) {
    const prototypes = new WeakSet<object>();
    const listener = (reason: unknown, promise: Promise<unknown>) => {
      if (prototypes.has(Object.getPrototypeOf(promise))) return;
      if (process.listenerCount("unhandledRejection") > 1) return;
      throw reason;
    };
    r = { prototypes, listener };
    g[REALMS_KEY] = r;
    process.on("unhandledRejection", listener);
  }
  return r;
}

/** Marks promises of this sandbox realm as belonging to workflow code. */
export function trackSandboxRealm(realm: { Promise: PromiseConstructor }): void {
  registry().prototypes.add(realm.Promise.prototype);
}

/** Whether `promise` was made by workflow code in a sandbox (exposed for tests). */
export function isSandboxPromise(promise: unknown): boolean {
  return (
    typeof promise === "object" &&
    promise !== null &&
    registry().prototypes.has(Object.getPrototypeOf(promise))
  );
}
