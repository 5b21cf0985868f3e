import { afterEach, describe, expect, it, vi } from "vitest";
import { harness, registerStep } from "../engine/__tests__/harness.js";
import type { Engine } from "../engine/engine.js";
import { type LogRecord, log, setLogger, setLogLevel } from "./logger.js";

const engines: Engine[] = [];
const saved = { level: process.env.WORKFLOW_LOG_LEVEL, format: process.env.WORKFLOW_LOG_FORMAT };
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
  setLogger(undefined);
  for (const [key, value] of [
    ["WORKFLOW_LOG_LEVEL", saved.level],
    ["WORKFLOW_LOG_FORMAT", saved.format],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  setLogLevel(undefined);
  vi.restoreAllMocks();
});

function captureStderr(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

let failures = 1;
registerStep("step//./log//work", async (n: number) => {
  if (failures-- > 0) throw Object.assign(new Error("transient"), { code: "E_TRANSIENT" });
  return n + 1;
});
const WORKFLOWS = {
  "workflow//./log//flow": `async function flow(n) { return step("step//./log//work")(n); }`,
};

describe("logger", () => {
  it("prints warnings and errors by default, nothing below", () => {
    delete process.env.WORKFLOW_LOG_LEVEL;
    setLogLevel(undefined);
    const out = captureStderr();
    log.info("not asked for");
    log.debug("not asked for either");
    log.warn("worth knowing", { runId: "wrun_1" });
    log.error("lost work", { error: new Error("disk full") });
    expect(out).toHaveLength(2);
    expect(out[0]).toBe("[workflow] warn: worth knowing runId=wrun_1\n");
    expect(out[1]).toMatch(/^\[workflow\] error: lost work\nError: disk full\n {4}at /);
  });

  it("follows WORKFLOW_LOG_LEVEL and writes JSON lines with WORKFLOW_LOG_FORMAT=json", () => {
    process.env.WORKFLOW_LOG_LEVEL = "debug";
    process.env.WORKFLOW_LOG_FORMAT = "json";
    setLogLevel(undefined);
    const out = captureStderr();
    log.debug("step attempt", { runId: "wrun_2", attempt: 2 });
    log.error("failed", { error: Object.assign(new Error("boom"), { code: "E_BOOM" }) });
    const [first, second] = out.map((line) => JSON.parse(line));
    expect(first).toMatchObject({ level: "debug", msg: "step attempt", runId: "wrun_2", attempt: 2 });
    expect(Number.isNaN(Date.parse(first.time))).toBe(false);
    expect(second.error).toMatchObject({ name: "Error", message: "boom", code: "E_BOOM" });
    process.env.WORKFLOW_LOG_LEVEL = "silent";
    setLogLevel(undefined);
    log.error("even errors are silent");
    expect(out).toHaveLength(2);
  });

  it("routes records to the app's logger: a function or an object with level methods", () => {
    setLogLevel("info");
    const records: LogRecord[] = [];
    setLogger((r) => records.push(r));
    log.info("hello", { runId: "wrun_3" });
    log.debug("below the level");
    expect(records).toEqual([expect.objectContaining({ level: "info", msg: "hello", runId: "wrun_3" })]);
    const calls: unknown[][] = [];
    setLogger({ warn: (msg, fields) => calls.push([msg, fields]) });
    log.warn("careful", { runId: "wrun_4" });
    log.info("no info method: dropped");
    expect(calls).toEqual([["careful", { runId: "wrun_4" }]]);
    expect(() => setLogLevel("loud" as never)).toThrow(/use one of silent, error, warn, info, debug/);
  });

  it("the engine logs each step attempt at debug and the run's end at info, and prints nothing by default", async () => {
    delete process.env.WORKFLOW_LOG_LEVEL;
    setLogLevel(undefined);
    const out = captureStderr();
    failures = 1;
    const quiet = harness(WORKFLOWS, { onError: undefined });
    engines.push(quiet.engine);
    expect(await (await quiet.start<number>("workflow//./log//flow", [1])).returnValue).toBe(2);
    expect(out).toEqual([]);

    setLogLevel("debug");
    const records: LogRecord[] = [];
    setLogger((r) => records.push(r));
    failures = 1;
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const run = await h.start<number>("workflow//./log//flow", [5]);
    expect(await run.returnValue).toBe(6);
    const attempts = records.filter((r) => r.msg === "step attempt");
    expect(attempts).toEqual([
      expect.objectContaining({
        level: "debug",
        runId: run.runId,
        stepId: "step_0001",
        attempt: 1,
        ok: false,
        errorCode: "E_TRANSIENT",
      }),
      expect.objectContaining({
        level: "debug",
        runId: run.runId,
        stepId: "step_0001",
        attempt: 2,
        ok: true,
      }),
    ]);
    expect(records.filter((r) => r.msg.startsWith("run "))).toEqual([
      expect.objectContaining({
        level: "info",
        msg: "run completed",
        runId: run.runId,
        workflowName: "workflow//./log//flow",
      }),
    ]);
  });
});
