/** The dashboard page: a hash router over the runs list, a run's detail and the workflows list. */
import "./app.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { type Config, get } from "./api.js";
import { RunPage } from "./run.js";
import { RunsPage } from "./runs.js";
import { WorkflowsPage } from "./workflows.js";

export interface Route {
  page: "runs" | "run" | "workflows";
  runId?: string;
  params: URLSearchParams;
}

function parseHash(hash: string): Route {
  const [path = "", query = ""] = hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts[0] === "runs" && parts[1]) return { page: "run", runId: parts[1], params };
  if (parts[0] === "workflows") return { page: "workflows", params };
  return { page: "runs", params };
}

export function navigate(hash: string): void {
  if (location.hash !== hash) location.hash = hash;
}

function App() {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  const [config, setConfig] = useState<Config>({ readOnly: true, world: "" });
  useEffect(() => {
    const onHash = () => setRoute(parseHash(location.hash));
    addEventListener("hashchange", onHash);
    get<Config>("config").then(setConfig, () => {});
    return () => removeEventListener("hashchange", onHash);
  }, []);
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/runs">
          Workflows
        </a>
        <nav>
          <a href="#/runs" class={route.page !== "workflows" ? "active" : ""} data-testid="nav-runs">
            Runs
          </a>
          <a
            href="#/workflows"
            class={route.page === "workflows" ? "active" : ""}
            data-testid="nav-workflows"
          >
            Workflows
          </a>
        </nav>
        <span class="world" title="the world this dashboard reads">
          {config.world && `${config.world} world`}
          {config.readOnly && " · read-only"}
        </span>
      </header>
      <main>
        {route.page === "run" && route.runId ? (
          <RunPage key={route.runId} runId={route.runId} config={config} />
        ) : route.page === "workflows" ? (
          <WorkflowsPage config={config} />
        ) : (
          <RunsPage params={route.params} />
        )}
      </main>
    </div>
  );
}

render(<App />, document.getElementById("app") as HTMLElement);
