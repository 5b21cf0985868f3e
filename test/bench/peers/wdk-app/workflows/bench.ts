// The benchmark workflows, the same shapes as test/bench/engine/run.mjs: n sequential steps, and three steps.
// The step reaches the timer through a global so it shares the route's copy even if bundled separately.
async function tick(x: number): Promise<number> {
  "use step";
  (globalThis as Record<symbol, (() => void) | undefined>)[Symbol.for("wfkit.bench.recordStep")]?.();
  return x + 1;
}

export async function sequential(n: number): Promise<number> {
  "use workflow";
  let acc = 0;
  for (let i = 0; i < n; i++) acc = await tick(acc);
  return acc;
}

export async function three(x: number): Promise<number> {
  "use workflow";
  const a = await tick(x);
  const b = await tick(a);
  return tick(b);
}
