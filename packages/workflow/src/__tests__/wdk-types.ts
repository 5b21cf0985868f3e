/**
 * Type-level fixture: the names and signatures WDK's documentation uses, written as its examples write them. The
 * test next to it compiles this file; it is never executed.
 */
import {
  createHook,
  createWebhook,
  defineHook,
  type Hook,
  type HookOptions,
  type RequestWithResponse,
  type StepMetadata,
  type TypedHook,
  type Webhook,
  type WebhookOptions,
  type WorkflowMetadata,
} from "workflow";
import {
  type Event,
  getHookByToken,
  getRun,
  type Run,
  resumeHook,
  type StartOptions,
  type StopSleepOptions,
  type StopSleepResult,
  start,
  type WorkflowReadableStream,
  type WorkflowReadableStreamOptions,
  type WorkflowRun,
} from "workflow/api";
import {
  EntityConflictError,
  HookConflictError,
  RunExpiredError,
  RunNotSupportedError,
  StepNotRegisteredError,
  ThrottleError,
  TooEarlyError,
  WorkflowError,
  WorkflowNotRegisteredError,
  WorkflowRunNotCompletedError,
  WorkflowRuntimeError,
  WorkflowWorldError,
} from "workflow/errors";

declare const myWorkflow: (a: string) => Promise<number>;
declare const noArgs: () => Promise<string>;

export async function hooks(): Promise<void> {
  using hook = createHook<{ approved: boolean }>({ token: "t" } satisfies HookOptions);
  const conflict: { runId: string } | null = await hook.getConflict();
  const payload: { approved: boolean } = await hook;
  for await (const p of hook) p.approved satisfies boolean;
  const untyped: Hook = createHook();
  const anything: number = await untyped;
  using webhook = createWebhook({ respondWith: "manual" } satisfies WebhookOptions);
  const request: RequestWithResponse = await webhook;
  await request.respondWith(new Response("ok"));
  const typedWebhook: Webhook<RequestWithResponse> = webhook;
  const url: string = typedWebhook.url;
  const typed: TypedHook<{ n: number }> = defineHook<{ n: number }>();
  const info = await resumeHook(await getHookByToken("t"), { approved: true });
  await typed.resume("t", { n: 1 });
  void [conflict, payload, anything, url, info.runId];
}

export async function runs(): Promise<void> {
  const options: StartOptions = { deploymentId: "latest" };
  const run: Run<number> = await start(myWorkflow, ["a"], options);
  const again: WorkflowRun<string> = await start(noArgs, { deploymentId: "dpl_1" });
  const exists: boolean = await getRun(run.runId).exists;
  const wake: StopSleepOptions = { correlationIds: ["wait_1"] };
  const result: StopSleepResult = await run.wakeUp(wake);
  const readOptions: WorkflowReadableStreamOptions = { startIndex: -5, namespace: "default" };
  const readable: WorkflowReadableStream<string> = run.getReadable<string>(readOptions);
  const tail: number = await readable.getTailIndex();
  const response = new Response(run.readable);
  const events: Event[] = await run.events();
  void [again, exists, result.stoppedCount, tail, response, events];
}

export function metadata(step: StepMetadata, wf: WorkflowMetadata): string[] {
  return [step.stepName, step.stepId, String(step.stepStartedAt), wf.workflowName, wf.workflowRunId];
}

export function errors(error: unknown): string | undefined {
  if (WorkflowNotRegisteredError.is(error)) return error.workflowName;
  if (StepNotRegisteredError.is(error)) return error.stepName;
  if (HookConflictError.is(error)) return error.conflictingRunId;
  if (WorkflowRunNotCompletedError.is(error)) return error.status;
  if (RunNotSupportedError.is(error)) return String(error.runSpecVersion);
  if (ThrottleError.is(error) || TooEarlyError.is(error)) return String(error.retryAfter);
  if (EntityConflictError.is(error) || RunExpiredError.is(error)) return error.message;
  if (error instanceof WorkflowWorldError) return error.url;
  if (WorkflowRuntimeError.is(error) || WorkflowError.is(error)) return error.message;
  return new WorkflowError("x", { cause: error }).message;
}
