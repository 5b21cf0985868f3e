/**
 * `node --import workflow/register src/main.ts <scenario> [arg]`: drives one interaction scenario and prints
 * `RESULT <json>`. `resume <token> <json>` delivers a payload from a separate process (retrying until the
 * hook exists).
 */
import { getHookByToken, getRun, resumeHook, resumeWebhook, start } from "workflow/api";
import { HookNotFoundError } from "workflow/errors";
import { createHandlers } from "workflow/runtime";
import * as workflows from "./workflows.js";

const [scenario, arg, extra] = process.argv.slice(2);
const print = (value: unknown) => console.log(`RESULT ${JSON.stringify(value)}`);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilHook(token: string) {
  for (let i = 0; i < 500; i++) {
    try {
      return await getHookByToken(token);
    } catch {
      await pause(10);
    }
  }
  throw new Error(`no hook ${token}`);
}

async function collect(stream: ReadableStream<unknown>, max = Number.POSITIVE_INFINITY) {
  const out: unknown[] = [];
  const reader = stream.getReader();
  while (out.length < max) {
    const { value, done } = await reader.read();
    if (done) break;
    out.push(value instanceof Uint8Array ? { bytes: [...value] } : value);
  }
  await reader.cancel();
  return out;
}

if (scenario === "approval") {
  const run = await start(workflows.approval, [arg!]);
  console.log(`RUN ${run.runId}`);
  print({ value: await run.returnValue });
} else if (scenario === "resume") {
  const info = await untilHook(arg!);
  let invalid: unknown;
  try {
    await workflows.approvalHook.resume(arg!, { approved: "yes" } as never);
  } catch (error) {
    invalid = { name: (error as Error).name, message: (error as Error).message };
  }
  await workflows.approvalHook.resume(arg!, JSON.parse(extra!));
  print({ info: { runId: info.runId, metadata: info.metadata }, invalid });
} else if (scenario === "streams") {
  const run = await start(workflows.streamer, [6]);
  const live = await collect(run.getReadable({ namespace: "progress" }), 2);
  const rest = await collect(run.getReadable({ namespace: "progress", startIndex: live.length }));
  const tail = await collect(getRun(run.runId).getReadable({ namespace: "progress", startIndex: 4 }));
  print({ value: await run.returnValue, chunks: [...live, ...rest], tail });
} else if (scenario === "stream-run") {
  // slow enough (2.4 s for 8 chunks) that a reader process started meanwhile finds the run still running
  const run = await start(workflows.streamer, [Number(arg), 300]);
  console.log(`RUN ${run.runId}`);
  print({ value: await run.returnValue });
} else if (scenario === "read") {
  const run = getRun(arg!);
  const startedWhile = await run.status;
  const chunks = await collect(run.getReadable({ namespace: "progress", startIndex: Number(extra ?? 0) }));
  print({ startedWhile, chunks });
} else if (scenario === "cancel") {
  const run = await start(workflows.cancellable, []);
  const { readFileSync, existsSync } = await import("node:fs");
  const ledger = new URL("../ledger.txt", `file://${process.env.WORKFLOW_LOCAL_DATA_DIR}/`);
  const lines = () => (existsSync(ledger) ? readFileSync(ledger, "utf8").split("\n") : []);
  while (!lines().includes("abortable:start")) await pause(10);
  await run.cancel({ reason: "customer left" });
  let outcome: unknown;
  try {
    await run.returnValue;
  } catch (error) {
    outcome = { name: (error as Error).name, reason: (error as { reason?: string }).reason };
  }
  while (!lines().some((l) => l.startsWith("abortable:aborted"))) await pause(10);
  await pause(100);
  print({ outcome, status: await run.status, ledger: lines().filter(Boolean) });
} else if (scenario === "webhook") {
  const run = await start(workflows.webhookEcho, []);
  await untilHook("echo-1");
  const response = await resumeWebhook(
    "echo-1",
    new Request("https://app.test/.well-known/workflow/v1/webhook/echo-1?q=1", {
      method: "POST",
      body: "ping",
    }),
  );
  // The webhook URL answers 404 where resumeWebhook() rejects with HookNotFoundError.
  const { webhook } = createHandlers();
  const hookUrl = (token: string) => `https://app.test/.well-known/workflow/v1/webhook/${token}`;
  const unknown = await webhook(new Request(hookUrl("nobody"), { method: "POST" }));
  const unknownDirect = await resumeWebhook(
    "nobody",
    new Request(hookUrl("nobody"), { method: "POST" }),
  ).catch((e) => HookNotFoundError.is(e));
  const plain = await start(workflows.plainHook, []);
  await untilHook("plain-1");
  const viaUrl = await webhook(new Request(hookUrl("plain-1"), { method: "POST" }));
  await resumeHook("plain-1", "api");
  print({
    status: response.status,
    header: response.headers.get("x-from"),
    body: await response.text(),
    url: await run.returnValue,
    unknown: [unknown.status, await unknown.text()],
    unknownDirect,
    plainViaUrl: viaUrl.status,
    plain: await plain.returnValue,
  });
} else {
  throw new Error(`unknown scenario ${scenario}`);
}
