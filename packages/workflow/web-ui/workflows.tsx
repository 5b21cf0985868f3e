/** The workflows list: runs per status and failure rate per workflow, and a form to start a run. */
import { useState } from "preact/hooks";
import { type Config, post, useLive, useResource } from "./api.js";
import { fileOf, shortName, time } from "./format.js";
import { navigate } from "./main.js";

interface Stats {
  workflowName: string;
  total: number;
  counts: Record<string, number>;
  failureRate: number | null;
  lastRunAt: number;
}

export function WorkflowsPage({ config }: { config: Config }) {
  const stats = useResource<{ data: Stats[]; truncated: boolean }>("workflows");
  useLive(undefined, () => stats.reload(), 1000);
  return (
    <section>
      <div class="toolbar">
        <h1>Workflows</h1>
      </div>
      {stats.error && <p class="error">{stats.error}</p>}
      <table class="grid" data-testid="workflows-table">
        <thead>
          <tr>
            <th>Workflow</th>
            <th>Runs</th>
            <th>Running</th>
            <th>Completed</th>
            <th>Failed</th>
            <th>Cancelled</th>
            <th>Failure rate</th>
            <th>Last run</th>
          </tr>
        </thead>
        <tbody>
          {(stats.data?.data ?? []).map((w) => (
            <tr key={w.workflowName} data-workflow={w.workflowName}>
              <td title={w.workflowName}>
                <a href={`#/runs?workflow=${encodeURIComponent(w.workflowName)}`}>
                  {shortName(w.workflowName)}
                </a>
                <div class="muted">{fileOf(w.workflowName)}</div>
              </td>
              <td>{w.total}</td>
              <td>{(w.counts.running ?? 0) + (w.counts.pending ?? 0) + (w.counts.paused ?? 0)}</td>
              <td>{w.counts.completed}</td>
              <td class={w.counts.failed ? "bad" : ""}>{w.counts.failed}</td>
              <td>{w.counts.cancelled}</td>
              <td data-testid="failure-rate">
                {w.failureRate === null ? "—" : `${Math.round(w.failureRate * 1000) / 10}%`}
              </td>
              <td>{time(w.lastRunAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {stats.data?.truncated && <p class="muted">Counted over the newest 10,000 runs.</p>}
      {!config.readOnly && <StartForm names={(stats.data?.data ?? []).map((w) => w.workflowName)} />}
    </section>
  );
}

function StartForm({ names }: { names: string[] }) {
  const [error, setError] = useState<string>();
  return (
    <form
      class="card start"
      data-testid="start-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        setError(undefined);
        try {
          const args = JSON.parse(String(form.get("args") || "[]"));
          const { runId } = await post<{ runId: string }>("runs", {
            workflowName: form.get("workflowName"),
            args,
          });
          navigate(`#/runs/${encodeURIComponent(runId)}`);
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <h2>Start a run</h2>
      <label>
        Workflow (its ID; with wf web also its function name)
        <input
          name="workflowName"
          list="workflow-names"
          placeholder="workflow//src/order.ts//order, or order"
          required
        />
        <datalist id="workflow-names">
          {names.map((n) => (
            <option value={n} />
          ))}
        </datalist>
      </label>
      <label>
        Arguments (JSON array)
        <input name="args" class="mono" placeholder='["order-1"]' />
      </label>
      <button type="submit">Start</button>
      {error && <p class="error">{error}</p>}
      <p class="muted">The run is recorded; a process that executes runs on this world takes it up.</p>
    </form>
  );
}
