/**
 * `wf build` then a plain Node server: `.workflow/handlers.mjs` configures the runtime from the build and
 * serves the flow endpoint; the server starts a run by workflow ID and reports its result.
 */
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../../../packages/workflow/src/cli/io.js";
import { createProgram } from "../../../packages/workflow/src/cli/program.js";
import { copyFixture, type Fixture, lastResult, runPlainNode } from "./support.js";

const SERVER = `
import { createServer } from "node:http";
import { start } from "workflow/api";
import { nodeHandler } from "./.workflow/handlers.mjs";

const server = createServer(nodeHandler);
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = "http://127.0.0.1:" + server.address().port;
const run = await start("workflow//src/workflows.ts//order", [[["melon", 1]]]);
const result = await run.returnValue;
const flow = await fetch(base + "/.well-known/workflow/v1/flow", { method: "POST", body: JSON.stringify({ runId: run.runId }) });
const missing = await fetch(base + "/.well-known/workflow/v1/webhook/nope", { method: "POST" });
console.log("RESULT " + JSON.stringify({ result, flow: flow.status, webhook: missing.status }));
server.close();
`;

describe("wf build", () => {
  let app: Fixture;
  beforeAll(() => {
    app = copyFixture("ts-app");
  });
  afterAll(() => app.cleanup());

  it("builds .workflow/ that a plain Node server mounts and runs", async () => {
    const err: string[] = [];
    let exitCode = 0;
    const io: CliIo = {
      out: () => {},
      err: (t) => err.push(t),
      exit: (c) => (exitCode = c),
      cwd: () => app.dir,
    };
    await createProgram(io).parseAsync(["node", "wf", "build", "--condition", "source"]);
    expect(err.join("")).toBe("");
    expect(exitCode).toBe(0);
    writeFileSync(app.file("server.mjs"), SERVER);
    const run = await runPlainNode(app, "server.mjs");
    expect(lastResult(run)).toEqual({
      result: { total: 5, receipt: expect.stringMatching(/^paid:5:/) },
      flow: 202,
      webhook: 404,
    });
  });
});
