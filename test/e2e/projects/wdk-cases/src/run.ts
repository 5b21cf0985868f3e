/**
 * `node --import workflow/register src/run.ts <case>`: runs one case of the WDK-shaped suite the way WDK's e2e
 * harness drives it (start, resume hooks and webhooks, read streams, await the result) and prints `RESULT <json>`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getHookByToken, getRun, resumeHook, resumeWebhook, start } from "workflow/api";
import { HookNotFoundError, WorkflowRunFailedError } from "workflow/errors";
import * as wf from "./workflows.js";

const [name] = process.argv.slice(2);
const result = (value: unknown) => console.log(`RESULT ${JSON.stringify(value)}`);
const unique = `${process.pid}-${Date.now()}`;

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

async function failure(run: { returnValue: Promise<unknown> }) {
  try {
    await run.returnValue;
    return { failed: false };
  } catch (error) {
    const e = error as WorkflowRunFailedError;
    return {
      failed: WorkflowRunFailedError.is(e),
      name: e.cause?.name,
      message: e.cause?.message,
      code: (e.cause as { code?: string } | undefined)?.code,
      stack: e.cause?.stack ?? "",
    };
  }
}

async function collect(stream: ReadableStream<unknown>) {
  const out: unknown[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

switch (name) {
  case "addTen":
    result(await (await start(wf.addTenWorkflow, [123])).returnValue);
    break;
  case "promiseAll":
    result(await (await start(wf.promiseAllWorkflow)).returnValue);
    break;
  case "promiseRace":
    result(await (await start(wf.promiseRaceWorkflow)).returnValue);
    break;
  case "promiseAny":
    result(await (await start(wf.promiseAnyWorkflow)).returnValue);
    break;
  case "promiseRaceStress":
    result(await (await start(wf.promiseRaceStressTestWorkflow)).returnValue);
    break;
  case "readableStream": {
    const run = await start(wf.readableStreamWorkflow);
    const stream = (await run.returnValue) as ReadableStream<Uint8Array>;
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
    result({ text });
    break;
  }
  case "hook": {
    const token = `hook-${unique}`;
    const run = await start(wf.hookWorkflow, [token, "my-data"]);
    const hook = await waitForHook(token);
    await resumeHook(token, {
      message: "one",
      customData: (hook.metadata as { customData: string }).customData,
    });
    await resumeHook(hook, { message: "two", customData: "x" });
    await resumeHook(token, { message: "three", customData: "y", done: true });
    const value = await run.returnValue;
    let gone = false;
    for (let i = 0; i < 500 && !gone; i++) {
      gone = !(await getHookByToken(token).catch(() => undefined));
      if (!gone) await new Promise((r) => setTimeout(r, 10));
    }
    result({ value, metadata: hook.metadata, disposedAfterwards: gone });
    break;
  }
  case "webhook": {
    const run = await start(wf.webhookWorkflow);
    const reader = run.getReadable<string[]>({ namespace: "tokens" }).getReader();
    const hooks = (await reader.read()).value!;
    reader.releaseLock();
    const post = (token: string, body: unknown) =>
      resumeWebhook(
        token,
        new Request(`http://localhost/.well-known/workflow/v1/webhook/${token}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
      );
    const r1 = await post(hooks[0]!, { n: 1 });
    const r2 = await post(hooks[1]!, { n: 2 });
    const r3 = await post(hooks[2]!, { n: 3 });
    result({
      responses: [
        { status: r1.status },
        { status: r2.status, body: await r2.json() },
        { status: r3.status, body: await r3.text() },
      ],
      value: await run.returnValue,
    });
    break;
  }
  case "sleeping": {
    const began = Date.now();
    const value = await (await start(wf.sleepingWorkflow)).returnValue;
    result({ value, elapsed: Date.now() - began });
    break;
  }
  case "nullByte":
    result(await (await start(wf.nullByteWorkflow)).returnValue);
    break;
  case "metadata": {
    const run = await start(wf.workflowAndStepMetadataWorkflow);
    result({ runId: run.runId, value: await run.returnValue });
    break;
  }
  case "outputStream": {
    const run = await start(wf.outputStreamWorkflow);
    const value = await run.returnValue;
    result({
      value,
      main: await collect(run.getReadable()),
      side: await collect(run.getReadable({ namespace: "side" })),
      last: await collect(run.getReadable({ startIndex: -1 })),
    });
    break;
  }
  case "outputStreamInsideStep": {
    const run = await start(wf.outputStreamInsideStepWorkflow);
    // Read while the run is live: the stream is read as it is written.
    const chunks = collect(run.readable);
    result({ value: await run.returnValue, chunks: await chunks });
    break;
  }
  case "fetch": {
    const server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: 1, path: req.url, title: "delectus aut autem" }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    result(await (await start(wf.fetchWorkflow, [url])).returnValue);
    server.close();
    break;
  }
  case "retryAttemptCounter":
    result(await (await start(wf.retryAttemptCounterWorkflow)).returnValue);
    break;
  case "retryableAndFatal":
    result(await (await start(wf.retryableAndFatalErrorWorkflow)).returnValue);
    break;
  case "crossFileError":
    result(await failure(await start(wf.crossFileErrorWorkflow)));
    break;
  case "errorUncaught":
    result(await failure(await start(wf.errorWorkflowUncaught)));
    break;
  case "stepFunctionPassing":
    result(await (await start(wf.stepFunctionPassingWorkflow)).returnValue);
    break;
  case "stepFunctionWithClosure":
    result(await (await start(wf.stepFunctionWithClosureWorkflow, ["n="])).returnValue);
    break;
  case "nestedStepDeclaration":
    result(await (await start(wf.nestedStepDeclarationWorkflow, ["hello"])).returnValue);
    break;
  case "spawnWorkflowFromStep": {
    const { childRunId } = (await (
      await start(wf.spawnWorkflowFromStepWorkflow, [5])
    ).returnValue) as {
      childRunId: string;
    };
    result({ childValue: await getRun(childRunId).returnValue });
    break;
  }
  case "hookCleanup": {
    const token = `cleanup-${unique}`;
    const values: unknown[] = [];
    // The same token twice in a row: the first run's hook is disposed when it ends, so the second can take it.
    for (const n of [1, 2]) {
      const run = await start(wf.hookCleanupTestWorkflow, [token]);
      await waitForHook(token);
      await resumeHook(token, { n });
      values.push(await run.returnValue);
      for (let i = 0; i < 500 && (await getHookByToken(token).catch(() => undefined)); i++)
        await new Promise((r) => setTimeout(r, 10));
    }
    result(values);
    break;
  }
  default:
    throw new Error(`unknown case ${name}`);
}
process.exit(0);
