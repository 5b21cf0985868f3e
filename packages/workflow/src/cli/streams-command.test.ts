import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createReadToken } from "@wfkit/core";
import { createLocalWorld } from "@wfkit/world-local";
import { afterAll, describe, expect, it } from "vitest";
import { recordingIo, runWf } from "./__tests__/run-wf.js";
import { serveStreams } from "./streams-command.js";

describe("wf streams serve", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "wf-streams-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("refuses to start without a secret unless --no-auth, naming both", async () => {
    const saved = process.env.WORKFLOW_STREAMS_SECRET;
    delete process.env.WORKFLOW_STREAMS_SECRET;
    try {
      const result = await runWf(["streams", "serve", "--port", "0", "--data-dir", dataDir]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/set WORKFLOW_STREAMS_SECRET .* or pass --no-auth/);
    } finally {
      if (saved !== undefined) process.env.WORKFLOW_STREAMS_SECRET = saved;
    }
  });

  it("serves a run's state to its read token, and refuses other tokens", async () => {
    const world = createLocalWorld({ dataDir });
    const { run } = await world.createRun({ workflowName: "workflow//src/a.ts//a", input: "[]" });
    await world.close();
    const secret = "wf-streams-serve-test-secret-0123456789";
    process.env.WORKFLOW_STREAMS_SECRET = secret;
    const { io } = recordingIo(dataDir);
    const served = await serveStreams(
      { port: "0", host: "127.0.0.1", auth: true, world: "local", dataDir },
      io,
    );
    try {
      expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\.well-known\/workflow\/v1\/streams\/runs$/);
      const state = `${served.url}/${run.runId}/state`;
      const ok = await fetch(`${state}?token=${createReadToken(run.runId, { secret })}`);
      expect(ok.status).toBe(200);
      const [first] = (await ok.json()) as { type: string; value: { status: string } }[];
      expect(first).toMatchObject({ type: "run", value: { status: "pending" } });
      expect((await fetch(`${state}?token=${createReadToken("wrun_other", { secret })}`)).status).toBe(403);
      expect((await fetch(served.url)).status).toBe(401);
    } finally {
      delete process.env.WORKFLOW_STREAMS_SECRET;
      await served.close();
    }
  });
});
