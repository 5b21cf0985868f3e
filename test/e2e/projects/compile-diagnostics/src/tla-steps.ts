/** A top-level await only a step reads: pruned from the workflow bundle, so it works. */
const config = await Promise.resolve({ factor: 5 });

async function scale(n: number) {
  "use step";
  return n * config.factor;
}

export async function tlaSteps(n: number) {
  "use workflow";
  return await scale(n);
}
