/**
 * End to end on the local world: real Node processes run the compiled test project through
 * `node --import workflow/register`, including processes killed with SIGKILL mid-run.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, type Project, resultOf, runNode, spawnNode } from "./support/process.js";

function executions(project: Project, entry: string): number {
  try {
    return readFileSync(project.file("ledger.txt"), "utf8")
      .split("\n")
      .filter((l) => l === entry).length;
  } catch {
    return 0;
  }
}

describe("workflow/register on the local world", () => {
  let project: Project;
  beforeAll(() => {
    project = copyProject("basic");
  });
  afterAll(() => project.cleanup());

  const run = async (name: string, args: unknown[] = []) =>
    resultOf(await runNode(project, ["src/run.ts", name, JSON.stringify(args)]));

  it("runs sequential steps and reports completion", async () => {
    expect(await run("sequential", [5])).toEqual({ ok: true, value: 5, status: "completed" });
  });

  it("runs Promise.all, Promise.race and Promise.any over steps", async () => {
    const result = await run("parallel");
    expect(result.value).toEqual({ all: [2, 4, 6], race: "fast", any: "survivor" });
  });

  it("awaits a step started earlier after later steps finished", async () => {
    expect((await run("background")).value).toEqual([101, 2]);
  });

  it("delivers step errors to workflow try/catch with their class and properties", async () => {
    expect((await run("catchFatal")).value).toEqual([
      { name: "FatalError", message: "fatal failure", isFatal: true },
      { name: "Error", message: "plain failure", isFatal: false, code: "E_PLAIN" },
    ]);
  });

  it("retries a step, counting attempts, and honours RetryableError.retryAfter", async () => {
    const before = executions(project, "flaky:1");
    const { value } = await run("retries");
    expect(value.attempts).toEqual([3]);
    expect(executions(project, "flaky:1") - before).toBe(1);
    expect(value.delayMs).toBeGreaterThanOrEqual(650);
  });

  it("fails the run with WorkflowRunFailedError whose cause is the step's FatalError", async () => {
    const result = await run("failing");
    expect(result).toMatchObject({
      ok: false,
      name: "WorkflowRunFailedError",
      status: "failed",
      cause: { name: "FatalError", message: "the order cannot be charged" },
    });
    // the stack points at the original TypeScript source of the step
    expect(result.cause.stack).toMatch(/workflows\.ts:\d+/);
  });

  it("round-trips every serializable type through a step", async () => {
    const { same } = resultOf(await runNode(project, ["src/run.ts", "types"]));
    expect(Object.entries(same).filter(([, ok]) => !ok)).toEqual([]);
    expect(Object.keys(same).length).toBeGreaterThanOrEqual(15);
  });

  it("leaves the app's own intrinsics writable, and round-trips keys such as constructor and toString", async () => {
    const result = resultOf(await runNode(project, ["src/run.ts", "hostIntact"]));
    expect(result).toEqual({
      ok: true,
      keys: ["constructor", "toString", "valueOf"],
      same: true,
      ownProto: true,
      assigned: "assigned by the app",
      frozen: false,
    });
  });

  it("rejects a value that cannot be serialized, naming its path", async () => {
    const result = resultOf(await runNode(project, ["src/run.ts", "unserializable"]));
    expect(result.ok).toBe(false);
    expect(result.message).toContain("args[0].user.socket");
    expect(result.message).toMatch(/Socket cannot be serialized/);
  });

  it("runs 1,000 sequential steps", async () => {
    expect(await run("sequential", [1000])).toEqual({ ok: true, value: 1000, status: "completed" });
  }, 60_000);

  it("resumes a sleeping run in a new process after SIGKILL, without re-running earlier steps", async () => {
    const first = spawnNode(project, ["src/run.ts", "sleepy", "[]"]);
    const runId = (await first.waitForLine(/^RUN /)).slice(4);
    // wait until the first step is recorded and the run sleeps, then kill hard
    await waitFor(() => executions(project, "add:1+2") === 1);
    await new Promise((r) => setTimeout(r, 200));
    first.child.kill("SIGKILL");
    await first.done;
    const second = resultOf(await runNode(project, ["src/run.ts", "await", runId]));
    expect(second).toEqual({ ok: true, value: 33, status: "completed" });
    expect(executions(project, "add:1+2")).toBe(1);
    expect(executions(project, "add:10+20")).toBe(1);
  }, 30_000);

  it("reruns only the interrupted step after a SIGKILL inside it", async () => {
    const release = project.file("release-crash");
    // a short lease, so the takeover of the killed executor's run happens within seconds
    const env = { WORKFLOW_LEASE_TTL_MS: "1500" };
    const first = spawnNode(project, ["src/run.ts", "crashInStep", JSON.stringify([release])], env);
    const runId = (await first.waitForLine(/^RUN /)).slice(4);
    await first.waitForLine(/^STEP_STARTED hang/);
    first.child.kill("SIGKILL");
    await first.done;
    writeFileSync(release, "go");
    const second = resultOf(await runNode(project, ["src/run.ts", "await", runId], { env }));
    expect(second).toEqual({ ok: true, value: "5:released", status: "completed" });
    expect(executions(project, "add:2+3")).toBe(1);
    expect(executions(project, "hang:1") + executions(project, "hang:2")).toBe(2);
  }, 30_000);

  it("fails with REPLAY_DIVERGENCE when the workflow code changed between processes", async () => {
    const diverging = copyProject("basic");
    try {
      const first = spawnNode(diverging, ["src/run.ts", "sleepy", "[]"]);
      const runId = (await first.waitForLine(/^RUN /)).slice(4);
      await waitFor(() => executions(diverging, "add:1+2") === 1);
      await new Promise((r) => setTimeout(r, 200));
      first.child.kill("SIGKILL");
      await first.done;
      const source = readFileSync(diverging.file("src/workflows.ts"), "utf8");
      writeFileSync(
        diverging.file("src/workflows.ts"),
        source.replace("const first = await add(1, 2);", 'const first = Number(await echo("3"));'),
      );
      const second = resultOf(await runNode(diverging, ["src/run.ts", "await", runId]));
      expect(second.ok).toBe(false);
      expect(second.status).toBe("failed");
      expect(JSON.stringify(second)).toContain("REPLAY_DIVERGENCE");
      expect(JSON.stringify(second)).toMatch(/echo/);
      expect(JSON.stringify(second)).toMatch(/add/);
    } finally {
      diverging.cleanup();
    }
  }, 30_000);
});

async function waitFor(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
