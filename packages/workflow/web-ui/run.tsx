/**
 * One run: its state and actions, decoded input/output/error, the hooks it waits on (with a form to resume each),
 * the timeline, the selected step's values, and the event log a page at a time. Reloaded live.
 */
import { useEffect, useState } from "preact/hooks";
import { type Config, get, post, useLive, useResource } from "./api.js";
import { duration, ms, pretty, shortName, TERMINAL, time } from "./format.js";
import { navigate } from "./main.js";
import { StatusBadge } from "./runs.js";
import { Timeline, type TimelineItem } from "./timeline.js";

interface Detail {
  run: {
    runId: string;
    workflowName: string;
    status: string;
    input?: unknown;
    output?: unknown;
    error?: unknown;
    cancelReason?: string;
    metadata?: Record<string, unknown>;
    createdAt: string;
    startedAt?: string;
    completedAt?: string;
    lastSeq: number;
  };
  steps: { stepId: string; stepName: string; status: string; attempt: number }[];
  hooks: {
    hookId: string;
    token: string;
    kind: string;
    status: string;
    createdAt: number;
    metadata?: unknown;
  }[];
  timeline: { start: number; end: number; items: TimelineItem[] };
  eventCount: number;
}

export function RunPage({ runId, config }: { runId: string; config: Config }) {
  const id = encodeURIComponent(runId);
  const detail = useResource<Detail>(`runs/${id}`);
  const [eventsTick, setEventsTick] = useState(0);
  const [selected, setSelected] = useState<TimelineItem>();
  const live = useLive(runId, () => {
    detail.reload();
    setEventsTick((t) => t + 1);
  });
  const [message, setMessage] = useState<{ text: string; bad?: boolean }>();

  const act = async (what: string, path: string, body: unknown = {}) => {
    setMessage(undefined);
    try {
      const result = await post<{ runId?: string; forkedFrom?: string }>(path, body);
      setMessage({ text: `${what}: done.` });
      detail.reload();
      if (result.forkedFrom && result.runId) navigate(`#/runs/${encodeURIComponent(result.runId)}`);
    } catch (error) {
      setMessage({ text: `${what}: ${(error as Error).message}`, bad: true });
    }
  };

  if (detail.error && !detail.data) return <p class="error">{detail.error}</p>;
  if (!detail.data) return <p class="muted">Loading…</p>;
  const { run, hooks, timeline } = detail.data;
  const ended = TERMINAL.includes(run.status);
  const end = ms(run.completedAt) ?? Math.max(timeline.end, Date.now());
  const forkedFrom =
    (run.metadata?.forkedFrom as { runId?: string; fromStep?: string } | undefined) ?? undefined;
  const activeHooks = hooks.filter((h) => h.status === "active");

  return (
    <section data-testid="run-page" data-status={run.status}>
      <div class="toolbar">
        <h1 class="mono">{run.runId}</h1>
        <StatusBadge status={run.status} />
        <span class={`live ${live ? "on" : ""}`}>{live ? "live" : "connecting…"}</span>
      </div>
      <dl class="facts">
        <dt>Workflow</dt>
        <dd title={run.workflowName}>
          <a href={`#/runs?workflow=${encodeURIComponent(run.workflowName)}`}>
            {shortName(run.workflowName)}
          </a>{" "}
          <span class="muted mono">{run.workflowName}</span>
        </dd>
        <dt>Created</dt>
        <dd>{time(run.createdAt)}</dd>
        <dt>Duration</dt>
        <dd>{duration(end - (ms(run.startedAt) ?? (ms(run.createdAt) as number)))}</dd>
        <dt>Events</dt>
        <dd>{detail.data.eventCount}</dd>
        {forkedFrom?.runId && (
          <>
            <dt>Forked from</dt>
            <dd>
              <a class="mono" href={`#/runs/${encodeURIComponent(forkedFrom.runId)}`}>
                {forkedFrom.runId}
              </a>
              {forkedFrom.fromStep && ` at ${forkedFrom.fromStep}`}
            </dd>
          </>
        )}
        {run.cancelReason && (
          <>
            <dt>Cancel reason</dt>
            <dd>{run.cancelReason}</dd>
          </>
        )}
      </dl>
      {!config.readOnly && (
        <div class="actions">
          {!ended && (
            <button
              type="button"
              class="danger"
              data-testid="cancel"
              onClick={() => act("Cancel", `runs/${id}/cancel`)}
            >
              Cancel run
            </button>
          )}
          {run.status === "failed" && (
            <button type="button" data-testid="retry" onClick={() => act("Retry", `runs/${id}/retry`)}>
              Retry from the failed step
            </button>
          )}
          {!ended && run.status !== "paused" && (
            <button type="button" onClick={() => act("Pause", `runs/${id}/pause`)}>
              Pause
            </button>
          )}
          {run.status === "paused" && (
            <button type="button" onClick={() => act("Resume", `runs/${id}/resume`)}>
              Resume
            </button>
          )}
          <button type="button" data-testid="fork" onClick={() => act("Fork", `runs/${id}/fork`)}>
            Fork
          </button>
        </div>
      )}
      {message && (
        <p class={message.bad ? "error" : "note"} data-testid="message">
          {message.text}
        </p>
      )}

      <div class="values">
        <Value title="Input" value={run.input} testid="input" />
        {run.output !== undefined && <Value title="Output" value={run.output} testid="output" />}
        {run.error !== undefined && <ErrorValue error={run.error} />}
      </div>

      {hooks.length > 0 && (
        <div class="card" data-testid="hooks">
          <h2>Hooks</h2>
          {hooks.map((h) => (
            <div class="hook" key={h.hookId} data-token={h.token} data-status={h.status}>
              <div>
                <span class={`badge s-${h.status === "active" ? "running" : "completed"}`}>
                  {h.status === "active" ? "waiting" : h.status}
                </span>{" "}
                <span class="mono">{h.token}</span> <span class="muted">{h.hookId}</span>
              </div>
              {h.status === "active" && !config.readOnly && !ended && (
                <HookForm
                  token={h.token}
                  onSend={(payload) => act("Resume hook", "hooks/resume", { token: h.token, payload })}
                />
              )}
            </div>
          ))}
          {activeHooks.length === 0 && <p class="muted">No hook is waiting.</p>}
        </div>
      )}

      <div class="card">
        <h2>Timeline</h2>
        <Timeline
          start={timeline.start}
          end={ended ? timeline.end : Math.max(timeline.end, Date.now())}
          items={timeline.items}
          selected={selected?.id}
          onSelect={setSelected}
        />
      </div>
      {selected && (
        <ItemDetail
          runId={runId}
          item={selected}
          readOnly={config.readOnly}
          onFork={(fromStep) => act("Fork", `runs/${id}/fork`, { fromStep })}
        />
      )}
      <Streams runId={runId} tick={eventsTick} />
      <Events runId={runId} tick={eventsTick} />
    </section>
  );
}

function Value({ title, value, testid }: { title: string; value: unknown; testid: string }) {
  return (
    <div class="card value">
      <h2>{title}</h2>
      <pre data-testid={testid}>{pretty(value)}</pre>
    </div>
  );
}

function ErrorValue({ error }: { error: unknown }) {
  const e = (error ?? {}) as { name?: string; message?: string; stack?: string };
  return (
    <div class="card value bad" data-testid="error">
      <h2>Error</h2>
      <p>
        <strong>{e.name ?? "Error"}</strong>: {e.message ?? pretty(error)}
      </p>
      {e.stack && <pre class="stack">{e.stack}</pre>}
    </div>
  );
}

function HookForm({ token, onSend }: { token: string; onSend(payload: unknown): Promise<void> }) {
  const [text, setText] = useState("{}");
  const [error, setError] = useState<string>();
  return (
    <form
      class="hook-form"
      data-testid="hook-form"
      onSubmit={async (e) => {
        e.preventDefault();
        let payload: unknown;
        try {
          payload = JSON.parse(text);
        } catch (err) {
          setError(`The payload must be JSON: ${(err as Error).message}`);
          return;
        }
        setError(undefined);
        await onSend(payload);
      }}
    >
      <label>
        <span>
          Payload for <span class="mono">{token}</span> (JSON)
        </span>
        <textarea
          name="payload"
          rows={3}
          class="mono"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          data-testid="hook-payload"
        />
      </label>
      <button type="submit" data-testid="hook-send">
        Resume hook
      </button>
      {error && <p class="error">{error}</p>}
    </form>
  );
}

function ItemDetail(props: {
  runId: string;
  item: TimelineItem;
  readOnly: boolean;
  onFork(stepId: string): void;
}) {
  const { item } = props;
  const step = useResource<{
    stepName: string;
    status: string;
    attempt: number;
    input?: unknown;
    output?: unknown;
    error?: unknown;
  }>(
    item.kind === "step"
      ? `runs/${encodeURIComponent(props.runId)}/steps/${encodeURIComponent(item.id)}`
      : undefined,
  );
  return (
    <div class="card" data-testid="item-detail">
      <h2>
        {item.kind} <span class="mono">{item.id}</span> <StatusBadge status={item.status} />
      </h2>
      <p class="mono muted">{item.name}</p>
      {item.kind === "step" && (
        <>
          {(item.attempts ?? []).length > 0 && (
            <table class="grid small">
              <thead>
                <tr>
                  <th>Attempt</th>
                  <th>Outcome</th>
                  <th>Took</th>
                  <th>Retry at</th>
                </tr>
              </thead>
              <tbody>
                {(item.attempts ?? []).map((a) => (
                  <tr>
                    <td>{a.attempt}</td>
                    <td>{a.outcome}</td>
                    <td>{a.end === undefined ? "—" : duration(a.end - a.start)}</td>
                    <td>{a.retryAt === undefined ? "—" : time(a.retryAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {step.data && (
            <div class="values">
              <Value title="Step input" value={step.data.input} testid="step-input" />
              {step.data.output !== undefined && (
                <Value title="Step output" value={step.data.output} testid="step-output" />
              )}
              {step.data.error !== undefined && <ErrorValue error={step.data.error} />}
            </div>
          )}
          {!props.readOnly && (
            <button type="button" data-testid="fork-from-step" onClick={() => props.onFork(item.id)}>
              Fork from this step
            </button>
          )}
        </>
      )}
      {item.kind === "sleep" && item.resumeAt !== undefined && <p>Wakes at {time(item.resumeAt)}</p>}
    </div>
  );
}

const PAGE = 50;

function Events({ runId, tick }: { runId: string; tick: number }) {
  const [after, setAfter] = useState(0);
  const page = useResource<{
    data: { seq: number; type: string; correlationId?: string; createdAt: string; data?: unknown }[];
    lastSeq: number;
    hasMore: boolean;
  }>(`runs/${encodeURIComponent(runId)}/events?after=${after}&limit=${PAGE}&t=${tick}`);
  return (
    <div class="card" data-testid="events">
      <h2>
        Event log <span class="muted">({page.data?.lastSeq ?? "…"} events)</span>
      </h2>
      <table class="grid small">
        <thead>
          <tr>
            <th>#</th>
            <th>Time</th>
            <th>Type</th>
            <th>For</th>
            <th>Data</th>
          </tr>
        </thead>
        <tbody>
          {(page.data?.data ?? []).map((e) => (
            <tr key={e.seq} data-type={e.type}>
              <td>{e.seq}</td>
              <td>{time(e.createdAt)}</td>
              <td class="mono">{e.type}</td>
              <td class="mono">{e.correlationId ?? ""}</td>
              <td>
                {e.data !== undefined && Object.keys(e.data as object).length > 0 && (
                  <details>
                    <summary>data</summary>
                    <pre>{pretty(e.data)}</pre>
                  </details>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="pager">
        <button type="button" disabled={after === 0} onClick={() => setAfter(Math.max(0, after - PAGE))}>
          ← Earlier
        </button>
        <button type="button" disabled={!page.data?.hasMore} onClick={() => setAfter(after + PAGE)}>
          Later →
        </button>
      </div>
    </div>
  );
}

interface StreamView {
  name: string;
  lines: string[];
  next: number;
  closed: boolean;
}

/** The run's output streams, read on from where the page stopped each time the run changes. */
function Streams({ runId, tick }: { runId: string; tick: number }) {
  const [streams, setStreams] = useState<Record<string, StreamView>>({});
  const [error, setError] = useState<string>();
  const id = encodeURIComponent(runId);
  useEffect(() => {
    let stale = false;
    (async () => {
      const list = await get<{ data: { name: string; chunks: number; closed: boolean }[] }>(
        `runs/${id}/streams`,
      );
      const next = { ...streams };
      for (const info of list.data) {
        let view = next[info.name] ?? { name: info.name, lines: [], next: 0, closed: false };
        while (!view.closed && view.next < info.chunks) {
          const page = await get<{
            chunks: { index: number; text?: string; value?: unknown }[];
            closed: boolean;
            next: number;
          }>(`runs/${id}/streams/${encodeURIComponent(info.name)}?start=${view.next}`);
          if (page.chunks.length === 0) break;
          view = {
            ...view,
            lines: [...view.lines, ...page.chunks.map((c) => c.text ?? `${JSON.stringify(c.value)}\n`)],
            next: page.next,
            closed: page.closed,
          };
        }
        next[info.name] = { ...view, closed: view.closed || (info.closed && view.next >= info.chunks) };
      }
      if (!stale) setStreams(next);
    })().catch((e: Error) => !stale && setError(e.message));
    return () => {
      stale = true;
    };
  }, [id, tick]);
  const views = Object.values(streams);
  if (views.length === 0 && !error) return null;
  return (
    <div class="card" data-testid="streams">
      <h2>Streams</h2>
      {error && <p class="error">{error}</p>}
      {views.map((v) => (
        <div key={v.name} data-stream={v.name}>
          <h3 class="mono">
            {v.name}{" "}
            <span class="muted">
              ({v.next} chunks{v.closed ? ", closed" : ""})
            </span>
          </h3>
          <pre class="stream">{v.lines.join("")}</pre>
        </div>
      ))}
    </div>
  );
}
