/**
 * The DESIGN §8 workloads, written once against a tiny adapter so every peer is measured by the same loop as
 * `test/bench/engine/run.mjs` measures our engine. Plain JS with no imports: the WDK harness copies this file
 * into its Nitro app, where it runs inside the server process next to the workflows.
 *
 * An adapter provides:
 *   start(kind, input) -> Promise<{ result(): Promise<unknown> }>   kind: "sequential" (input n) | "three"
 * and its step bodies call `recordStep()` from this module (or `globalThis[Symbol.for("wfkit.bench.recordStep")]()`
 * where a bundler may give the steps their own copy of this module), so step timestamps come from the process that
 * runs them.
 *
 * Results are rows in the issue-8 shape: { workload, runs, median_ms, min_ms, max_ms } or { workload, skipped }.
 */

const stepTimes = [];
let recording = false;

/** Called first thing in every benchmark step body. */
export function recordStep() {
  if (recording) stepTimes.push(performance.now());
}
globalThis[Symbol.for("wfkit.bench.recordStep")] = recordStep;

function record(fn) {
  return async () => {
    stepTimes.length = 0;
    recording = true;
    try {
      return await fn();
    } finally {
      recording = false;
    }
  };
}

const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

export function summarize(workload, samples, extra = {}) {
  const s = [...samples].sort((a, b) => a - b);
  return {
    workload,
    runs: s.length,
    median_ms: round(s[Math.floor(s.length / 2)]),
    min_ms: round(s[0]),
    max_ms: round(s.at(-1)),
    ...extra,
  };
}

const medianOf = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Step-by-step median over several runs' gap series (gap i of the result = median of gap i of each run). */
export function perStepMedian(series) {
  const length = Math.min(...series.map((s) => s.length));
  return Array.from({ length }, (_, i) => round(medianOf(series.map((s) => s[i]))));
}

/**
 * Why 1,000 sequential steps cannot be measured in bounded time, or undefined when they can. The projection
 * models the gap between steps as growing linearly with the step index (a peer that replays its whole history
 * on every step), fitted on the measured 100-step runs: gap(i) ≈ a + b·i, so 1,000 steps ≈ Σ gap(i). Run totals
 * would mislead here: a peer whose caller polls for the result once a second rounds every total up to seconds.
 */
export function thousandStepsOutOfReach(t100, gapRuns, maxRunMs) {
  if (t100 === undefined || !gapRuns?.length) return "sequential-100 did not complete";
  if (t100 > 10_000) return `sequential-100 took ${t100} ms (> 10 s)`;
  const a = medianOf(gapRuns.map((g) => medianOf(g.slice(0, 10))));
  const late = medianOf(gapRuns.map((g) => medianOf(g.slice(-10))));
  const b = Math.max(0, (late - a) / 90);
  const projected = t100 + 1000 * a + (b * 1000 * 999) / 2;
  if (projected <= maxRunMs) return undefined;
  return `projected ${Math.round(projected / 1000)} s per run (step gap ${round(a, 1)} ms at step 1, ${round(late, 1)} ms at step 100) > ${maxRunMs / 1000} s limit`;
}

export class RunTimeout extends Error {}

/** Rejects with RunTimeout when `promise` takes longer than `ms`; the run itself cannot be cancelled. */
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new RunTimeout(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * 1 warm-up + exactly `runs` measured repetitions of `once()` (which returns one sample in ms), so every system
 * reports the same number of runs. A repetition longer than `maxRunMs` aborts the workload with RunTimeout (the
 * workload is then reported as skipped, not cut short).
 */
async function repeat(once, runs, maxRunMs, what, warmUp = once) {
  await within(warmUp(), maxRunMs, `${what} (warm-up)`);
  const samples = [];
  while (samples.length < runs) samples.push(await within(once(), maxRunMs, what));
  return samples;
}

async function timed(adapter, kind, input, expect) {
  const t0 = performance.now();
  const value = await (await adapter.start(kind, input)).result();
  const ms = performance.now() - t0;
  if (value !== expect)
    throw new Error(`${kind}(${input}) returned ${JSON.stringify(value)}, expected ${expect}`);
  return ms;
}

/**
 * One group per process, as in the engine benchmark, so the peak RSS reported belongs to that group alone.
 * opts: { runs, maxRunMs } — sequential-1000 (and the step-1000 gap) are skipped when the 100-step
 * median exceeds 10 s, or when 1,000 steps, projected from how the cost grew from 10 to 100 steps, would exceed
 * `maxRunMs`: a peer that replays its whole history on every step grows quadratically and would run for hours.
 */
export async function runGroup(group, adapter, opts) {
  const { runs = 3, maxRunMs = 120_000 } = opts ?? {};
  const rows = [];
  const measure = async (workload, once, n = runs, warmUp = once) => {
    try {
      return summarize(workload, await repeat(once, n, maxRunMs, workload, warmUp));
    } catch (e) {
      if (e instanceof RunTimeout) return { workload, skipped: e.message };
      throw e;
    }
  };
  if (group === "sequential") {
    // Step gaps are recorded during the timed 100- and 1,000-step runs themselves (a timestamp per step costs
    // nothing next to a durable step), so a slow peer is not made to run 1,000 steps twice. Warm-up runs keep
    // no gaps.
    const gapsOf = {};
    const sequentialRun = (n, measured = true) =>
      record(async () => {
        const ms = await timed(adapter, "sequential", n, n);
        if (measured) {
          gapsOf[n] ??= [];
          gapsOf[n].push(stepTimes.slice(1).map((t, i) => t - stepTimes[i]));
        }
        return ms;
      });
    const median = {};
    const sequential = async (n) => {
      // The warm-up of 1,000 steps is one more 100-step run: the 100-step runs just before have loaded and
      // JIT-compiled the same path, and on a peer that replays its history a 1,000-step warm-up costs minutes.
      const row = await measure(
        `sequential-${n}`,
        sequentialRun(n),
        runs,
        sequentialRun(Math.min(n, 100), false),
      );
      median[n] = row.median_ms;
      rows.push(row);
    };
    for (const n of [1, 10, 100]) await sequential(n);

    // Time to first step: start() until the first step body runs. Measured before the 1,000-step runs: a run
    // that outlives its time limit cannot be cancelled and would slow down whatever is measured after it.
    rows.push(
      await measure(
        "first-step",
        record(async () => {
          const t0 = performance.now();
          await (await adapter.start("sequential", 1)).result();
          return stepTimes[0] - t0;
        }),
      ),
    );

    // returnValue latency: from the last step body running to the caller's await resuming. That span holds the
    // step's commit, the workflow's final replay and completion commit, and however the caller learns of it.
    rows.push(
      await measure(
        "return-latency",
        record(async () => {
          await (await adapter.start("sequential", 3)).result();
          return performance.now() - stepTimes.at(-1);
        }),
        Math.max(runs, 10),
      ),
    );

    const reason = thousandStepsOutOfReach(median[100], gapsOf[100], maxRunMs);
    if (reason) rows.push({ workload: "sequential-1000", skipped: reason });
    else await sequential(1000);

    // Step-to-step gap: per measured run, the median gap over the first and the last tenth of the longest
    // sequential run the peer did in bounded time (the engine benchmark's first/last 100 of 1,000 steps; the
    // first/last 10 of 100 when 1,000 was skipped). The chart's series is the step-by-step median over the
    // measured runs.
    const long = median[1000] !== undefined ? 1000 : 100;
    const window = long / 10;
    const measured = gapsOf[long] ?? [];
    if (measured.length === 0) throw new Error(`no measured sequential-${long} run to take step gaps from`);
    const early = measured.map((gaps) => medianOf(gaps.slice(0, window)));
    const late = measured.map((gaps) => medianOf(gaps.slice(-window)));
    const series = perStepMedian(measured);
    rows.push(
      summarize("overhead-step-1", early, long === 1000 ? {} : { note: "median gap over steps 1-10 of 100" }),
    );
    if (long === 1000) rows.push(summarize("overhead-step-1000", late, { gaps_by_step_ms: series }));
    else {
      rows.push({
        workload: "overhead-step-1000",
        skipped: "sequential-1000 was skipped",
        overhead_step_100: summarize("overhead-step-100", late, {
          note: "median gap over steps 90-100 of 100",
        }),
        gaps_by_step_ms: series,
      });
    }
  } else {
    const n = Number(group.replace("burst-", "").replace("x3", ""));
    const burstOf = (count) => async () => {
      const t0 = performance.now();
      const handles = await Promise.all(Array.from({ length: count }, (_, i) => adapter.start("three", i)));
      const values = await Promise.all(handles.map((h) => h.result()));
      const ms = performance.now() - t0;
      const wrong = values.findIndex((v, i) => v !== i + 3);
      if (wrong !== -1)
        throw new Error(`burst run ${wrong} returned ${values[wrong]}, expected ${wrong + 3}`);
      return ms;
    };
    // The warm-up burst is capped at 100 runs: it exists to load and JIT the code paths, and on a peer that
    // manages ~15 runs/s a full 1,000-run warm-up would double a group that already takes minutes.
    const row = await measure(group, burstOf(n), runs, burstOf(Math.min(n, 100)));
    if (!row.skipped) row.runs_per_s = Math.round((n / row.median_ms) * 1000);
    rows.push(row);
  }
  return rows;
}

/** Peak RSS of this process so far, in MiB (Linux reports maxRSS in KiB). */
export const peakRssMiB = () => round(process.resourceUsage().maxRSS / 1024, 1);
