/**
 * `workflow/react`: `useRun(runId, { token })` re-renders with a run's live state and output, read over the
 * Durable Streams protocol (see `workflow/client`). Browser-safe; `react` is a peer dependency.
 */
import { useMemo, useRef, useSyncExternalStore } from "react";
import {
  idleSnapshot as idle,
  type RunListItem,
  type RunSnapshot,
  type RunSubscription,
  type SubscribeRunOptions,
  type SubscribeRunsOptions,
  subscribeRun,
  subscribeRuns,
} from "./index.js";

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

/**
 * The live state of a run: `{ status, steps, hooks, waits, output, returnValue, error, run }`. Pass no runId (yet)
 * to render nothing; a new runId or token starts a new subscription.
 */
export function useRun<TChunk = unknown>(
  runId: string | undefined,
  options: SubscribeRunOptions = {},
): RunSnapshot<TChunk> {
  const { token, baseUrl, namespace, live, persist } = options;
  // A new fetch function on each render must not restart reading: the subscription calls the latest one.
  const fetchRef = useRef(options.fetch);
  fetchRef.current = options.fetch;
  const store = useMemo(() => {
    let subscription: RunSubscription<TChunk> | undefined;
    let current = idle<TChunk>(runId);
    const listeners = new Set<() => void>();
    return {
      subscribe(listener: () => void) {
        listeners.add(listener);
        if (runId && !subscription) {
          subscription = subscribeRun<TChunk>(
            runId,
            {
              token,
              baseUrl,
              namespace,
              live,
              persist,
              ...(fetchRef.current ? { fetch: (...args) => (fetchRef.current ?? fetch)(...args) } : {}),
            },
            (snapshot) => {
              current = snapshot;
              for (const l of listeners) l();
            },
          );
          current = subscription.getSnapshot();
        }
        return () => {
          listeners.delete(listener);
          if (listeners.size === 0) {
            subscription?.unsubscribe();
            subscription = undefined;
          }
        };
      },
      getSnapshot: () => current,
    };
  }, [runId, token, baseUrl, namespace, live, persist]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/** The runs list, newest first, live (`token`: `createReadToken("*")`, for operators' pages). */
export function useRuns(options: SubscribeRunsOptions = {}): RunListItem[] {
  const { token, baseUrl, live } = options;
  const store = useMemo(() => {
    let current: RunListItem[] = [];
    return {
      subscribe(listener: () => void) {
        const s = subscribeRuns({ token, baseUrl, live }, (runs) => {
          current = runs;
          listener();
        });
        return () => s.unsubscribe();
      },
      getSnapshot: () => current,
    };
  }, [token, baseUrl, live]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
