/**
 * `workflow/react` when imported by Node (the `node` export condition): server rendering. A run cannot be followed
 * while the page is rendered on the server, so `useRun` gives the loading state and `useRuns` an empty list, as
 * the browser build does before its first update; the browser build goes live after hydration.
 *
 * It calls no React hook and imports no `react`, on purpose: frameworks load packages they keep external (Next's
 * `serverExternalPackages`, which lists `workflow`) with Node's own module loader, which would hand this module a
 * different copy of React than the one rendering the page.
 */
import { idleSnapshot, type RunListItem, type RunSnapshot, type SubscribeRunOptions } from "./index.js";

export type {
  HookView,
  RunErrorView,
  RunListItem,
  RunSnapshot,
  RunStatus,
  RunSummary,
  RunView,
  StepView,
  SubscribeRunOptions,
  WaitView,
} from "./index.js";

export function useRun<TChunk = unknown>(
  runId: string | undefined,
  _options: SubscribeRunOptions = {},
): RunSnapshot<TChunk> {
  return idleSnapshot<TChunk>(runId);
}

const NO_RUNS: RunListItem[] = [];

export function useRuns(_options: Omit<SubscribeRunOptions, "namespace" | "persist"> = {}): RunListItem[] {
  return NO_RUNS;
}
