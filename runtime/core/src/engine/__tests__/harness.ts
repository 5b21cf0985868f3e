/**
 * Test harness: workflow bundles written by hand following the ABI in `sandbox/abi.ts` (what the compiler
 * emits in workflow mode), steps registered in the host registry (what step mode does), an engine on a
 * memory world.
 */
import { createMemoryWorld, type World } from "@wfkit/world";
import { afterEach } from "vitest";
import { Run } from "../../api/run.js";
import { STEPS_KEY } from "../../sandbox/abi.js";
import type { CodeProvider } from "../code-provider.js";
import { Engine, type EngineOptions } from "../engine.js";

/**
 * A workflow bundle script. Each workflow body is the source of an async function that can use:
 * `step(id)` (the compiled step proxy: `step(id)(...args)`), `rt()` (the sandbox runtime: sleep,
 * getWorkflowMetadata, …).
 */
export function bundle(workflows: Record<string, string>): string {
  const entries = Object.entries(workflows)
    .map(([id, body]) => `registry.set(${JSON.stringify(id)}, ${body});`)
    .join("\n");
  return `(() => {
  const step = (id, closure) => (...args) => globalThis[Symbol.for("wfkit.useStep")](id, closure)(...args);
  const rt = () => globalThis[Symbol.for("wfkit.runtime")];
  const registry = (globalThis[Symbol.for("wfkit.workflows")] ??= new Map());
  ${entries}
})();`;
}

export function registerStep<F extends (...args: any[]) => unknown>(
  id: string,
  fn: F,
  props: { maxRetries?: number } = {},
): F {
  const g = globalThis as unknown as Record<symbol, Map<string, unknown> | undefined>;
  g[STEPS_KEY] ??= new Map();
  Object.assign(fn, props);
  g[STEPS_KEY].set(id, fn);
  return fn;
}

export class TestCode implements CodeProvider {
  private readonly bundles = new Map<string, string>();
  constructor(workflows: Record<string, string> = {}) {
    this.set(workflows);
  }
  set(workflows: Record<string, string>): void {
    const code = bundle(workflows);
    for (const id of Object.keys(workflows)) this.bundles.set(id, code);
  }
  async getWorkflowBundle(workflowId: string) {
    const code = this.bundles.get(workflowId);
    if (!code) throw new Error(`test bundle for ${workflowId} missing`);
    return { code, filename: `${workflowId.replace(/\W+/g, "_")}.js` };
  }
  async loadStep(): Promise<void> {}
}

export interface Harness {
  world: World;
  engine: Engine;
  code: TestCode;
  start<R = unknown>(workflowId: string, args?: unknown[]): Promise<Run<R>>;
  newEngine(opts?: Partial<EngineOptions>): Engine;
}

export function harness(workflows: Record<string, string>, opts: Partial<EngineOptions> = {}): Harness {
  const world = opts.world && typeof opts.world !== "function" ? opts.world : createMemoryWorld();
  const code = new TestCode(workflows);
  const errors: unknown[] = [];
  const make = (more: Partial<EngineOptions> = {}) =>
    new Engine({
      world,
      codeProvider: code,
      retryBaseMs: 5,
      retryMaxMs: 50,
      onError: (e) => errors.push(e),
      ...opts,
      ...more,
    });
  const engine = make();
  return {
    world,
    engine,
    code,
    newEngine: make,
    async start<R>(workflowId: string, args: unknown[] = []) {
      const runId = await engine.start(workflowId, args);
      return new Run<R>(runId, engine);
    },
  };
}

/** Event types of a run's log, in order. */
export async function eventTypes(world: World, runId: string): Promise<string[]> {
  return (await world.readEvents(runId)).map((e) =>
    e.correlationId ? `${e.type}:${e.correlationId}` : e.type,
  );
}

/** For a test file: returns `track`, whose harnesses' engines are closed after each test. */
export function closingEngines(): <T extends { engine: Engine }>(h: T) => T {
  const engines: Engine[] = [];
  afterEach(() => {
    for (const e of engines.splice(0)) e.close();
  });
  return (h) => {
    engines.push(h.engine);
    return h;
  };
}
