// On-demand checks of the shared workload loop (not part of `npm test`, like the rest of the benchmark):
//   node --test test/bench/peers/
// A fake peer advances a fake clock, so the figures are exact and the test takes milliseconds.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { perStepMedian, recordStep, runGroup, thousandStepsOutOfReach } from "./workloads.mjs";

let now = 0;
const realPerformance = globalThis.performance;
beforeEach(() => {
  now = 0;
  Object.defineProperty(globalThis, "performance", { value: { now: () => now }, configurable: true });
});
afterEach(() => {
  Object.defineProperty(globalThis, "performance", { value: realPerformance, configurable: true });
});

/** A peer whose run costs `fixed` ms, then step i (0-based) costs `stepCost(i)` ms. */
function fakePeer({ fixed = 5, stepCost = () => 1, wrongBurst = false } = {}) {
  return {
    async start(kind, input) {
      const steps = kind === "sequential" ? input : 3;
      return {
        async result() {
          now += fixed;
          for (let i = 0; i < steps; i++) {
            recordStep();
            now += stepCost(i);
          }
          if (kind === "three") return wrongBurst ? input : input + 3;
          return input;
        },
      };
    },
  };
}

const byName = (rows) => Object.fromEntries(rows.map((r) => [r.workload, r]));

test("a linear peer gets every sequential workload, with the issue's row shape", async () => {
  const rows = byName(await runGroup("sequential", fakePeer(), { runs: 3 }));
  assert.deepEqual(rows["sequential-100"], {
    workload: "sequential-100",
    runs: 3,
    median_ms: 105,
    min_ms: 105,
    max_ms: 105,
  });
  assert.equal(rows["sequential-1000"].median_ms, 1005);
  assert.equal(rows["first-step"].median_ms, 5);
  assert.equal(rows["overhead-step-1"].median_ms, 1);
  assert.equal(rows["overhead-step-1000"].median_ms, 1);
  assert.equal(rows["overhead-step-1000"].gaps_by_step_ms.length, 999);
  // From the last step body to the caller: the fake spends the last step's 1 ms after recording it.
  assert.equal(rows["return-latency"].median_ms, 1);
});

test("a peer that replays its history on every step skips 1,000 steps and reports the gap at step 100", async () => {
  const rows = byName(
    await runGroup("sequential", fakePeer({ stepCost: (i) => 1 + i }), { runs: 3, maxRunMs: 10_000 }),
  );
  assert.match(rows["sequential-1000"].skipped, /projected \d+ s per run/);
  assert.equal(rows["overhead-step-1000"].skipped, "sequential-1000 was skipped");
  // Gaps over steps 1-10 and 90-100 of a 100-step run.
  assert.equal(rows["overhead-step-1"].median_ms, 6);
  assert.equal(rows["overhead-step-1000"].overhead_step_100.median_ms, 95);
});

test("the 1,000-step projection follows step gaps, not run totals rounded up by a result poll", () => {
  const flat = Array.from({ length: 99 }, () => 30);
  // 100 steps of 30 ms plus a 1 s poll: 1,000 steps ≈ 4 s + 30 s, within a 120 s limit.
  assert.equal(thousandStepsOutOfReach(4000, [flat, flat], 120_000), undefined);
  const growing = Array.from({ length: 99 }, (_, i) => 20 + i);
  assert.match(thousandStepsOutOfReach(4000, [growing, growing], 120_000), /^projected 5\d\d s per run/);
  assert.equal(thousandStepsOutOfReach(12_000, [flat], 120_000), "sequential-100 took 12000 ms (> 10 s)");
});

test("bursts report runs per second and reject a wrong result", async () => {
  const [row] = await runGroup("burst-100x3", fakePeer({ fixed: 0 }), { runs: 2 });
  assert.equal(row.workload, "burst-100x3");
  assert.equal(row.median_ms, 300);
  assert.equal(row.runs_per_s, 333);
  await assert.rejects(runGroup("burst-100x3", fakePeer({ wrongBurst: true }), { runs: 1 }), /returned 0/);
});

test("a run longer than the per-run limit is reported as skipped, not waited for", async () => {
  now = 0;
  Object.defineProperty(globalThis, "performance", { value: realPerformance, configurable: true });
  const never = { start: async () => ({ result: () => new Promise(() => {}) }) };
  const [row] = await runGroup("burst-100x3", never, { runs: 1, maxRunMs: 50 });
  assert.equal(row.skipped, "burst-100x3 (warm-up) did not finish within 0.05 s");
});

test("every workload gets one warm-up and exactly `runs` measured runs, and warm-up gaps stay out of the series", async () => {
  let started = 0;
  let sequentialRuns = 0;
  const peer = fakePeer();
  const counting = {
    async start(kind, input) {
      started++;
      if (kind === "sequential" && input === 1000) sequentialRuns++;
      const handle = await peer.start(kind, input);
      // The 1,000-step warm-up is a 100-step run; make measured 1,000-step runs recognisable by their gap.
      if (kind !== "sequential" || input !== 1000) return handle;
      return {
        async result() {
          now += 5;
          for (let i = 0; i < input; i++) {
            recordStep();
            now += 2;
          }
          return input;
        },
      };
    },
  };
  const rows = byName(await runGroup("sequential", counting, { runs: 4 }));
  for (const w of ["sequential-1", "sequential-10", "sequential-100", "sequential-1000", "first-step"])
    assert.equal(rows[w].runs, 4, w);
  assert.equal(rows["return-latency"].runs, 10);
  assert.equal(sequentialRuns, 4, "the warm-up of sequential-1000 is not a 1,000-step run");
  // sequential 1/10/100/1000 and first-step: 1 + 4 each; return-latency: 1 + 10.
  assert.equal(started, 5 * 5 + 11);
  assert.equal(rows["overhead-step-1000"].median_ms, 2);
  assert.deepEqual(new Set(rows["overhead-step-1000"].gaps_by_step_ms), new Set([2]));
});

test("the chart series is the step-by-step median of the measured runs", () => {
  assert.deepEqual(
    perStepMedian([
      [1, 9, 3],
      [2, 1, 3],
      [3, 5, 30, 7],
    ]),
    [2, 5, 3],
  );
});
