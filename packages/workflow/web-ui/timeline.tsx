/**
 * A run's steps, sleeps and hooks on one time axis. Each step row shows its attempts (failed attempts red, the
 * back-off before a retry hatched); rows are windowed, so a run of 10,000 steps draws only the rows in view.
 */
import { useState } from "preact/hooks";
import { duration, shortName } from "./format.js";

export interface TimelineAttempt {
  attempt: number;
  start: number;
  end?: number;
  outcome: string;
  retryAt?: number;
}

export interface TimelineItem {
  id: string;
  kind: "step" | "sleep" | "hook";
  name: string;
  status: string;
  start: number;
  end?: number;
  attempts?: TimelineAttempt[];
  resumeAt?: number;
  received?: number[];
}

const ROW = 26;
const VIEW_ROWS = 16;

export function Timeline(props: {
  start: number;
  end: number;
  items: TimelineItem[];
  selected?: string;
  onSelect(item: TimelineItem): void;
}) {
  const [scrollTop, setScrollTop] = useState(0);
  const span = Math.max(props.end - props.start, 1);
  const x = (t: number) => `${Math.min(100, Math.max(0, ((t - props.start) / span) * 100))}%`;
  const w = (a: number, b: number) => `${Math.max(0.4, Math.min(100, ((b - a) / span) * 100))}%`;
  const first = Math.max(0, Math.floor(scrollTop / ROW) - 4);
  const visible = props.items.slice(first, first + VIEW_ROWS + 8);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div class="timeline" data-testid="timeline">
      <div class="axis">
        <div class="label" />
        <div class="track">
          {ticks.map((f) => (
            <span class="tick" style={{ left: `${f * 100}%` }}>
              +{duration(span * f)}
            </span>
          ))}
        </div>
      </div>
      <div
        class="rows"
        style={{ height: `${Math.min(props.items.length, VIEW_ROWS) * ROW + 2}px` }}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      >
        <div style={{ height: `${props.items.length * ROW}px`, position: "relative" }}>
          {visible.map((item, i) => (
            <button
              type="button"
              key={item.id}
              class={`row ${props.selected === item.id ? "selected" : ""}`}
              style={{ top: `${(first + i) * ROW}px` }}
              data-testid="timeline-row"
              data-id={item.id}
              data-kind={item.kind}
              data-status={item.status}
              onClick={() => props.onSelect(item)}
            >
              <span class="label" title={item.name}>
                <span class={`kind k-${item.kind}`}>{item.kind}</span>
                {item.kind === "step" ? shortName(item.name) : item.kind === "hook" ? item.name : "sleep"}
                <span class="muted"> {item.id}</span>
              </span>
              <span class="track">
                {item.kind === "step" ? (
                  (item.attempts ?? []).map((a) => (
                    <>
                      <span
                        class={`bar o-${a.outcome}`}
                        style={{ left: x(a.start), width: w(a.start, a.end ?? props.end) }}
                        title={`attempt ${a.attempt}: ${a.outcome}, ${duration((a.end ?? props.end) - a.start)}`}
                      />
                      {a.retryAt !== undefined && a.end !== undefined && (
                        <span
                          class="bar backoff"
                          style={{ left: x(a.end), width: w(a.end, Math.min(a.retryAt, props.end)) }}
                          title={`retry back-off until ${new Date(a.retryAt).toISOString()}`}
                        />
                      )}
                    </>
                  ))
                ) : (
                  <span
                    class={`bar ${item.kind} o-${item.status}`}
                    style={{ left: x(item.start), width: w(item.start, item.end ?? props.end) }}
                    title={`${item.kind} ${item.status}, ${duration((item.end ?? props.end) - item.start)}`}
                  />
                )}
                {(item.received ?? []).map((t) => (
                  <span
                    class="mark"
                    style={{ left: x(t) }}
                    title={`payload at ${new Date(t).toISOString()}`}
                  />
                ))}
              </span>
            </button>
          ))}
        </div>
      </div>
      {props.items.length === 0 && <p class="muted">No steps, sleeps or hooks yet.</p>}
    </div>
  );
}
