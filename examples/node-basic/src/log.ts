const started = Date.now();

/** One progress line: elapsed time, the step, what happened. */
export function log(step: string, message: string): void {
  const elapsed = ((Date.now() - started) / 1000).toFixed(2).padStart(6);
  console.log(`  ${elapsed}s  ${step.padEnd(15)} ${message}`);
}
