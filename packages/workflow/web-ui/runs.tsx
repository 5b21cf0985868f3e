/** The runs list: filters by status and workflow, search by ID, cursor paging, reloaded live. */
import { useEffect, useState } from "preact/hooks";
import { useLive, useResource } from "./api.js";
import { duration, ms, shortName, time } from "./format.js";
import { navigate } from "./main.js";

interface RunRow {
  runId: string;
  workflowName: string;
  status: string;
  createdAt: number;
  startedAt?: number;
  completedAt?: number;
}

const STATUSES = ["pending", "running", "paused", "completed", "failed", "cancelled"];

export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`badge s-${status}`} data-testid="status">
      {status}
    </span>
  );
}

export function RunsPage({ params }: { params: URLSearchParams }) {
  const status = params.get("status") ?? "";
  const workflow = params.get("workflow") ?? "";
  const q = params.get("q") ?? "";
  // Cursors of the pages before the current one, for "Previous".
  const [cursors, setCursors] = useState<string[]>([]);
  // What is typed in the search box: its own state, so a live reload of the list does not reset it.
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  const cursor = cursors.at(-1);
  const query = new URLSearchParams();
  if (status) query.set("status", status);
  if (workflow) query.set("workflow", workflow);
  if (q) query.set("q", q);
  query.set("limit", "25");
  if (cursor) query.set("cursor", cursor);
  const runs = useResource<{ data: RunRow[]; cursor?: string; hasMore: boolean }>(`runs?${query}`);
  const workflows = useResource<{ data: { workflowName: string }[] }>("workflows");
  const live = useLive(undefined, () => {
    runs.reload();
  });

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setCursors([]);
    navigate(`#/runs?${next}`);
  };

  return (
    <section>
      <div class="toolbar">
        <h1>Runs</h1>
        <span
          class={`live ${live ? "on" : ""}`}
          data-testid="live"
          title="updates as the world reports changes"
        >
          {live ? "live" : "connecting…"}
        </span>
        <form
          class="search"
          onSubmit={(e) => {
            e.preventDefault();
            setFilter("q", text.trim());
          }}
        >
          <input
            name="q"
            placeholder="Search by run ID"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            data-testid="search"
          />
        </form>
        <select
          value={status}
          onChange={(e) => setFilter("status", e.currentTarget.value)}
          data-testid="filter-status"
        >
          <option value="">all statuses</option>
          {STATUSES.map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
        <select
          value={workflow}
          onChange={(e) => setFilter("workflow", e.currentTarget.value)}
          data-testid="filter-workflow"
        >
          <option value="">all workflows</option>
          {(workflows.data?.data ?? []).map((w) => (
            <option value={w.workflowName}>{shortName(w.workflowName)}</option>
          ))}
        </select>
      </div>
      {runs.error && <p class="error">{runs.error}</p>}
      <table class="grid" data-testid="runs-table">
        <thead>
          <tr>
            <th>Run</th>
            <th>Workflow</th>
            <th>Status</th>
            <th>Created</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody>
          {(runs.data?.data ?? []).map((r) => (
            <tr
              key={r.runId}
              data-run-id={r.runId}
              onClick={() => navigate(`#/runs/${encodeURIComponent(r.runId)}`)}
            >
              <td>
                <a class="mono" href={`#/runs/${encodeURIComponent(r.runId)}`}>
                  {r.runId}
                </a>
              </td>
              <td title={r.workflowName}>{shortName(r.workflowName)}</td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td>{time(r.createdAt)}</td>
              <td>{duration((r.completedAt ?? Date.now()) - (ms(r.startedAt) ?? r.createdAt))}</td>
            </tr>
          ))}
          {runs.data && runs.data.data.length === 0 && (
            <tr>
              <td colSpan={5} class="empty">
                No runs match.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div class="pager">
        <button
          type="button"
          disabled={cursors.length === 0}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          ← Newer
        </button>
        <button
          type="button"
          disabled={!runs.data?.hasMore}
          onClick={() => runs.data?.cursor && setCursors([...cursors, runs.data.cursor])}
          data-testid="next-page"
        >
          Older →
        </button>
      </div>
    </section>
  );
}
