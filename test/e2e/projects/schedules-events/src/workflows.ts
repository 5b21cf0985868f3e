import { appendFileSync } from "node:fs";
import { EventTimeoutError, getWorkflowMetadata, waitForEvent } from "workflow";
import { type EmittedEvent, emit } from "workflow/api";

/** Appends one line per step body execution, so a test can count executions across processes. */
async function record(line: string) {
  "use step";
  if (process.env.LEDGER) appendFileSync(process.env.LEDGER, `${line}\n`);
  return line;
}

/** What a schedule starts: records which run of which schedule ran. */
export async function tick(label: string) {
  "use workflow";
  return record(`tick ${label} ${getWorkflowMetadata().workflowRunId}`);
}

/** Waits for the next "order.paid" event, then records it. */
export async function waitForOrder(i: number) {
  "use workflow";
  const event = await waitForEvent<{ amount: number }>("order.paid");
  await record(`paid ${i} ${event.id}`);
  return { i, id: event.id, data: event.data };
}

/** Started by `trigger(onSignup, { event: "signup" })` on every emit of "signup". */
export async function onSignup(event: EmittedEvent<{ user: string }>) {
  "use workflow";
  return record(`signup ${event.id} ${event.data.user}`);
}

/** Waits for an event that never comes. */
export async function waitInVain() {
  "use workflow";
  try {
    await waitForEvent("never", { timeout: "1s" });
    return "received";
  } catch (error) {
    return { timedOut: EventTimeoutError.is(error), code: (error as { code?: string }).code };
  }
}

/** Emits from a step (the application-side emit, through the engine running the step). */
async function emitFromStep(user: string) {
  "use step";
  return (await emit("signup", { user }, { id: `step-${user}` })).started.length;
}

/** Emits from workflow code (a built-in step) and from a step. */
export async function relay() {
  "use workflow";
  const fromWorkflow = await emit("signup", { user: "carol" });
  const fromStep = await emitFromStep("dave");
  return { fromWorkflow: fromWorkflow.started.length, fromStep };
}
