"use client";

import { useState } from "react";
import type { SignupEvent, SignupResult } from "@/workflows/signup";

type Line = SignupEvent | { step: "done"; message: string } | { step: "failed"; message: string };

/** Starts a signup and follows its durable progress stream live (server-sent events). */
export default function Home() {
  const [email, setEmail] = useState("ada@example.com");
  const [runId, setRunId] = useState<string>();
  const [lines, setLines] = useState<Line[]>([]);
  const [confirmation, setConfirmation] = useState<string>();

  async function signUp() {
    setLines([]);
    setConfirmation(undefined);
    const res = await fetch("/api/signup", { method: "POST", body: JSON.stringify({ email }) });
    const { runId } = (await res.json()) as { runId: string };
    setRunId(runId);
    const events = new EventSource(`/api/signup/${runId}/events`);
    events.addEventListener("progress", (e) => {
      const event = JSON.parse((e as MessageEvent).data) as SignupEvent;
      setLines((l) => [...l, event]);
    });
    events.addEventListener("done", (e) => {
      const result = JSON.parse((e as MessageEvent).data) as SignupResult;
      setLines((l) => [...l, { step: "done", message: `signed up ${result.email} (${result.userId})` }]);
      events.close();
    });
    events.addEventListener("failed", (e) => {
      setLines((l) => [...l, { step: "failed", message: JSON.parse((e as MessageEvent).data).message }]);
      events.close();
    });
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
      {runId && <p>run {runId}</p>}
      <ol id="progress">
        {lines.map((line) => (
          // Each step reports once per run, so its name is a stable key.
          <li key={line.step}>
            <b>{line.step}</b>: {line.message}{" "}
            {"confirmUrl" in line && line.confirmUrl && (
              <button type="button" onClick={() => confirm(line.confirmUrl!)}>
                Confirm my address (the email's link)
              </button>
            )}
          </li>
        ))}
      </ol>
      {confirmation && <p>{confirmation}</p>}
    </main>
  );
}
