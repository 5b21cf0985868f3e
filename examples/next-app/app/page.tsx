"use client";

import { useState } from "react";
import { useRun } from "workflow/react";
import type { SignupEvent, SignupResult } from "@/workflows/signup";

/** Starts a signup and follows the run live: its steps, its progress stream and its result (`useRun`). */
export default function Home() {
  const [email, setEmail] = useState("ada@example.com");
  const [started, setStarted] = useState<{ runId: string; readToken: string }>();
  const [confirmation, setConfirmation] = useState<string>();
  const run = useRun<SignupEvent>(started?.runId, { token: started?.readToken });
  const result = run.returnValue as SignupResult | undefined;

  async function signUp() {
    setConfirmation(undefined);
    const res = await fetch("/api/signup", { method: "POST", body: JSON.stringify({ email }) });
    setStarted((await res.json()) as { runId: string; readToken: string });
  }

  /** What clicking the link in the welcome email does. */
  async function confirm(url: string) {
    const res = await fetch(url, { method: "POST" });
    setConfirmation(res.ok ? "Address confirmed." : `The link answered ${res.status}.`);
  }

  return (
    <main>
      <h1>Sign up</h1>
      <input value={email} onChange={(e) => setEmail(e.target.value)} aria-label="email" />{" "}
      <button type="button" id="signup" onClick={signUp}>
        Sign up
      </button>
      {started && (
        <p>
          run {started.runId}: <b id="status">{run.status}</b>
          {run.waits.some((w) => w.status === "waiting") && " (sleeping)"}
          {run.hooks.some((h) => h.status === "active") && " (waiting for the confirmation)"}
        </p>
      )}
      <ol id="progress">
        {run.output.map((line) => (
          // Each step reports once per run, so its name is a stable key.
          <li key={line.step}>
            <b>{line.step}</b>: {line.message}{" "}
            {line.confirmUrl && (
              <button type="button" onClick={() => confirm(line.confirmUrl!)}>
                Confirm my address (the email's link)
              </button>
            )}
          </li>
        ))}
        {result && (
          <li key="done">
            <b>done</b>: signed up {result.email} ({result.userId})
          </li>
        )}
        {run.error && (
          <li key="failed">
            <b>failed</b>: {run.error.message}
          </li>
        )}
      </ol>
      {confirmation && <p>{confirmation}</p>}
    </main>
  );
}
