/** `workflow/react`: `useRun(runId, { token })`, a run's live state in a React component (see `@wfkit/client`). */
export * from "@wfkit/client/react";
