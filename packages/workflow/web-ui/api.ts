/** The dashboard's browser side: calls to its JSON API and the live feed, relative to where it is mounted. */
import { useEffect, useRef, useState } from "preact/hooks";

export const base: string = document.getElementById("app")?.dataset.base ?? "";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function parse<T>(response: Response): Promise<T> {
  const text = await response.text();
  const body = text ? JSON.parse(text) : {};
  if (!response.ok) throw new ApiError(response.status, body.error ?? `HTTP ${response.status}`);
  return body as T;
}

export async function get<T>(path: string): Promise<T> {
  return parse<T>(await fetch(`${base}/api/${path}`, { headers: { accept: "application/json" } }));
}

export async function post<T>(path: string, body: unknown = {}): Promise<T> {
  return parse<T>(
    await fetch(`${base}/api/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

export interface Config {
  readOnly: boolean;
  world: string;
}

export interface RunNotice {
  runId: string;
  status: string;
  kind: string;
  lastSeq: number;
}

/**
 * Calls `onChange` when the world reports a change (to one run, or to any), at most every `settleMs`: a burst of
 * notifications (a fan-out of steps) becomes one reload. Returns whether the live feed is connected.
 */
export function useLive(
  runId: string | undefined,
  onChange: (n: RunNotice | undefined) => void,
  settleMs = 250,
): boolean {
  const [connected, setConnected] = useState(false);
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    const source = new EventSource(`${base}/api/live${runId ? `?runId=${encodeURIComponent(runId)}` : ""}`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last: RunNotice | undefined;
    const schedule = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        latest.current(last);
      }, settleMs);
    };
    // "ready" comes once the server subscribed: what changed between the page's first load and then was not
    // notified, so reload once (also after a reconnect).
    source.addEventListener("ready", () => {
      setConnected(true);
      schedule();
    });
    source.addEventListener("error", () => setConnected(false));
    source.addEventListener("stream", () => schedule());
    source.addEventListener("run", (event) => {
      last = JSON.parse((event as MessageEvent).data);
      schedule();
    });
    return () => {
      if (timer) clearTimeout(timer);
      source.close();
    };
  }, [runId, settleMs]);
  return connected;
}

/** Loads `path` and reloads it on `reload()`; keeps the previous data while reloading (no flicker). */
export function useResource<T>(path: string | undefined) {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let stale = false;
    setState((s) => ({ ...s, loading: true }));
    get<T>(path).then(
      (data) => !stale && setState({ data, loading: false }),
      (error: Error) => !stale && setState((s) => ({ ...s, error: error.message, loading: false })),
    );
    return () => {
      stale = true;
    };
  }, [path, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}
