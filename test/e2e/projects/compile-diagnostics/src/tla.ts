/** A top-level await the workflow reads: it would stay in the workflow bundle. */
const config = await Promise.resolve({ factor: 3 });

export async function tla(n: number) {
  "use workflow";
  return n * config.factor;
}
