/**
 * A process that used the Redis world and has nothing left to do exits by itself without closing it (as on the
 * local and Postgres worlds: an app whose runs have ended exits), yet never exits while a command is still in
 * flight. Plain `node` scripts against the built package, on a private server that the test may pause.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { type RedisServer, redisCommand, startRedisServer } from "@wfkit/world-redis/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { copyIntoTmp, type Project } from "./support/process.js";

let server: RedisServer;
let project: Project;
beforeAll(async () => {
  server = await startRedisServer();
  project = copyIntoTmp(new URL("./projects/basic", import.meta.url).pathname, "redis-exit");
  writeFileSync(
    project.file("use-world.mjs"),
    `import { createRedisWorld } from "@wfkit/world-redis";
const world = await createRedisWorld({ url: process.env.URL, warn: () => {} });
const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
world.subscribe(() => {});
console.log("CREATED");
const res = await world.append(run.runId, 1, [{ type: "run_started" }]);
console.log("APPENDED " + res.run.lastSeq);
`,
  );
});
afterAll(async () => {
  await server?.stop();
  project?.cleanup();
});

function runScript(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["use-world.mjs"], {
      cwd: project.dir,
      env: { ...process.env, URL: server.url },
    });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("close", (code) => resolve({ code, out }));
  });
}

it("exits by itself once its commands are answered, without world.close()", async () => {
  const { code, out } = await runScript();
  expect(code, out).toBe(0);
  expect(out).toContain("APPENDED 2");
}, 30_000);

it("stays alive while a command waits for its answer (the server paused)", async () => {
  const running = runScript();
  // Pause the server's writes once the script has created its run: the append then waits 1.5 s for its answer.
  await new Promise((r) => setTimeout(r, 0));
  await redisCommand(server.url, "CLIENT", "PAUSE", 1500, "WRITE");
  const { code, out } = await running;
  expect(code, out).toBe(0);
  expect(out).toContain("APPENDED 2");
}, 30_000);
