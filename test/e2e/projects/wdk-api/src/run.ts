/**
 * `node --import workflow/register src/run.ts <scenario> [json-arg]`: runs one scenario of the WDK API against the
 * local world and prints `RESULT <json>`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { getHookByToken, getRun, resumeHook, resumeWebhook, start } from "workflow/api";
import {
  EntityConflictError,
  HookNotFoundError,
  WorkflowError,
  WorkflowNotRegisteredError,
  WorkflowRunCancelledError,
  WorkflowRunFailedError,
  WorkflowRunNotFoundError,
  WorkflowWorldError,
} from "workflow/errors";
import { worldFromEnv } from "workflow/runtime";
import * as wf from "./workflows.js";

const [scenario, argJson] = process.argv.slice(2);
const arg = argJson ? JSON.parse(argJson) : undefined;
const result = (value: unknown) => console.log(`RESULT ${JSON.stringify(value)}`);

async function waitForHook(token: string) {
  for (let i = 0; i < 2000; i++) {
    const hook = await getHookByToken(token).catch((e) => {
      if (HookNotFoundError.is(e)) return undefined;
      throw e;
    });
    if (hook) return hook;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`hook ${token} never appeared`);
}

async function waitFor(check: () => Promise<boolean>) {
  for (let i = 0; i < 2000 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
}

/** A Node server whose one route answers with `handler()` (how framework routes hand a Response to Node). */
async function serve(handler: (req: Request) => Response | Promise<Response>) {
  const server = createServer(async (req, res) => {
    const response = await handler(new Request(`http://localhost${req.url}`));
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) Readable.fromWeb(response.body as never).pipe(res);
    else res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

switch (scenario) {
  case "approval": {
    const run = await start(wf.approval, [arg]);
    const hook = await waitForHook(arg);
    // resumeHook takes the hook object getHookByToken gives, as well as a token.
    await resumeHook(hook, { approved: true, comment: "ship it" });
    const value = await run.returnValue;
    await waitFor(async () => !(await getHookByToken(arg).catch(() => undefined)));
    const afterwards = await getHookByToken(arg).catch((e) => e.name);
    result({ value, afterwards });
    break;
  }
  case "conflict": {
    const first = await start(wf.processOrder, [arg]);
    await waitForHook(`order:${arg}`);
    const second = await start(wf.processOrder, [arg]);
    const deduped = await second.returnValue;
    await resumeHook(`order:${arg}`, { shipped: true });
    result({ first: first.runId, deduped, firstValue: await first.returnValue });
    break;
  }
  case "scoped": {
    const run = await start(wf.scopedHook, [arg]);
    const token = `channel:${arg}`;
    const firstHook = await waitForHook(token);
    await resumeHook(token, { message: "one" });
    await waitFor(async () => {
      const h = await getHookByToken(token).catch(() => undefined);
      return h !== undefined && h.hookId !== firstHook.hookId;
    });
    await resumeHook(token, { message: "two" });
    result(await run.returnValue);
    break;
  }
  case "webhook": {
    const run = await start(wf.webhookCollector);
    let token = "";
    await waitFor(async () => {
      const hooks = await run.events();
      const created = hooks.find((e) => e.type === "hook_created");
      token = (created?.data as { token?: string } | undefined)?.token ?? "";
      return token !== "";
    });
    const response = await resumeWebhook(
      token,
      new Request("http://localhost/hook", { method: "POST", body: JSON.stringify({ type: "done" }) }),
    );
    result({ status: response.status, body: await response.json(), value: await run.returnValue });
    break;
  }
  case "metadata": {
    const run = await start(wf.metadata);
    result(await run.returnValue);
    break;
  }
  case "retryTiming": {
    result(await (await start(wf.retryTiming)).returnValue);
    break;
  }
  case "wakeUp": {
    const run = await start(wf.sleeper);
    const exists = await run.exists;
    const missing = await getRun("wrun_does_not_exist").exists;
    await waitFor(async () => (await run.events()).some((e) => e.type === "wait_created"));
    const none = await run.wakeUp({ correlationIds: ["wait_nope"] });
    const first = await run.wakeUp();
    await waitFor(async () => (await run.events()).filter((e) => e.type === "wait_created").length === 2);
    const waits = (await run.events()).filter((e) => e.type === "wait_created").map((e) => e.correlationId);
    const second = await run.wakeUp({ correlationIds: [waits[1]!] });
    result({ exists, missing, none, first, second, value: await run.returnValue });
    break;
  }
  case "deployment": {
    const run = await start(wf.metadata, { deploymentId: "latest" });
    result({ ok: (await run.returnValue) !== undefined });
    break;
  }
  case "streams": {
    const run = await start(wf.lines, [5]);
    await run.returnValue;
    const readable = run.getReadable<string>({ startIndex: -2 });
    const tail = await readable.getTailIndex();
    const lastTwo: string[] = [];
    for await (const chunk of readable as unknown as AsyncIterable<string>) lastTwo.push(chunk);
    const server = await serve(
      () => new Response(run.readable, { headers: { "Content-Type": "text/plain" } }),
    );
    const body = await (await globalThis.fetch(`${server.url}/stream`)).text();
    server.close();
    result({ tail, lastTwo, body });
    break;
  }
  case "streamError": {
    const error = await (await start(wf.streamError)).returnValue.catch((e) => e);
    result({
      failed: WorkflowRunFailedError.is(error),
      cause: { name: error.cause?.name, message: error.cause?.message },
    });
    break;
  }
  case "globals": {
    const server = await serve(() => Response.json({ pong: true }));
    const value = await (await start(wf.sandboxGlobals, [server.url])).returnValue;
    server.close();
    result(value);
    break;
  }
  case "errors": {
    const unknown = await start("workflow//./src/workflows.ts//doesNotExist").catch((e) => e);
    const failed = await (await start(wf.failing)).returnValue.catch((e) => e);
    result({
      notRegistered: WorkflowNotRegisteredError.is(unknown),
      isWorkflowError: unknown instanceof WorkflowError,
      workflowName: unknown.workflowName,
      message: unknown.message,
      causeCode: failed.cause?.code,
    });
    break;
  }
  case "errorClasses": {
    // The documented error classes, caught the way WDK's documentation catches them.
    const hookMissing = await resumeHook("no-such-token", {}).catch((e) => e);
    const webhookMissing = await resumeWebhook(
      "no-such-webhook",
      new Request("http://x/", { method: "POST" }),
    ).catch((e) => e);
    const ghost = getRun("wrun_01KDOESNOTEXIST0000000000");
    const statusMissing = await ghost.status.catch((e) => e);
    const returnMissing = await ghost.returnValue.catch((e) => e);
    const failedRun = await start(wf.failing);
    const failed = await failedRun.returnValue.catch((e) => e);
    const sleeping = await start(wf.sleeper);
    await waitFor(async () => (await sleeping.status) === "running");
    await sleeping.cancel();
    const cancelled = await sleeping.returnValue.catch((e) => e);
    // Talking to the world directly: an append after the end of a run, and one at a stale position.
    const world = await worldFromEnv();
    const ended = await world.append(failedRun.runId, 1, [{ type: "run_started" }]).catch((e) => e);
    const unknownRun = await world.readEvents("wrun_01KDOESNOTEXIST0000000000").catch((e) => e);
    const badArgument = await (await start(wf.badStepArgument)).returnValue;
    result({
      hookNotFound: HookNotFoundError.is(hookMissing) && hookMissing.token === "no-such-token",
      webhookNotFound: HookNotFoundError.is(webhookMissing) && webhookMissing.token === "no-such-webhook",
      runNotFound: WorkflowRunNotFoundError.is(statusMissing) && statusMissing.runId === ghost.runId,
      returnValueNotFound: WorkflowRunNotFoundError.is(returnMissing),
      failed: WorkflowRunFailedError.is(failed) && failed.runId === failedRun.runId,
      failedCause: failed.cause?.message,
      cancelled: WorkflowRunCancelledError.is(cancelled) && cancelled.runId === sleeping.runId,
      entityConflict: EntityConflictError.is(ended),
      worldErrorInstance: ended instanceof WorkflowWorldError,
      endedCode: ended.code,
      worldRunNotFound: WorkflowRunNotFoundError.is(unknownRun) && unknownRun.runId !== undefined,
      badArgument,
    });
    await world.close();
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
process.exit(0);
