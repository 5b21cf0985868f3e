/** The page: start a run, then follow it live with useRun. Its ID and read token live in the URL's hash. */
import { useState } from "react";
import { createRoot } from "react-dom/client";
import { useRun } from "workflow/react";

/** Every stream request the page makes, so the test can see the offsets it resumes from. */
const requests: string[] = [];
(window as unknown as { __requests: string[] }).__requests = requests;
const recordingFetch: typeof fetch = (input, init) => {
  requests.push(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
  return fetch(input, init);
};

function fromHash(): { runId: string; token: string } | undefined {
  const params = new URLSearchParams(location.hash.slice(1));
  const runId = params.get("run");
  const token = params.get("token");
  return runId && token ? { runId, token } : undefined;
}

function App() {
  const [followed, setFollowed] = useState(fromHash);
  const run = useRun<string>(followed?.runId, { token: followed?.token, fetch: recordingFetch });

  async function startRun() {
    const res = await fetch("/api/start", { method: "POST" });
    const { runId, readToken } = (await res.json()) as { runId: string; readToken: string };
    location.hash = new URLSearchParams({ run: runId, token: readToken }).toString();
    setFollowed({ runId, token: readToken });
  }

  return (
    <main style={{ font: "15px system-ui, sans-serif", margin: "24px", maxWidth: "720px" }}>
      <h1 style={{ fontSize: "20px" }}>Onboarding, live</h1>
      {!followed && (
        <button type="button" id="start" onClick={startRun}>
          Start a run
        </button>
      )}
      {followed && (
        <>
          <p>
            run <code>{followed.runId}</code>: <b data-testid="status">{run.status}</b>
            {run.connectionError && <span data-testid="offline"> (reconnecting…)</span>}
            {run.waits.some((w) => w.status === "waiting") && <span> · sleeping</span>}
          </p>
          <div style={{ display: "flex", gap: "32px" }}>
            <section>
              <h2 style={{ fontSize: "16px" }}>Steps</h2>
              <ol data-testid="steps">
                {run.steps.map((step) => (
                  <li key={step.stepId} data-status={step.status}>
                    {step.name} <code>{step.stepId}</code>: {step.status}
                    {step.status === "completed" && step.output !== undefined
                      ? ` → ${JSON.stringify(step.output)}`
                      : ""}
                  </li>
                ))}
              </ol>
            </section>
            <section>
              <h2 style={{ fontSize: "16px" }}>Output</h2>
              <ul data-testid="output">
                {run.output.map((line, i) => (
                  // Lines arrive once each, in order: the index is their identity.
                  <li key={i}>{line}</li>
                ))}
              </ul>
            </section>
          </div>
          {run.status === "completed" && (
            <p>
              Result: <code data-testid="result">{JSON.stringify(run.returnValue)}</code>
            </p>
          )}
        </>
      )}
    </main>
  );
}

createRoot(document.getElementById("root")!).render(<App />);
