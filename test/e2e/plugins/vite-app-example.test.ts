/**
 * `examples/vite-app` in dev (`vite` on a free port) and in production (`npm run build`: Vite client build +
 * SSR build with the workflow plugin, then `node server.mjs`): the page is served and an order run streams
 * its progress over server-sent events.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPostgresWorld } from "@wfkit/world-postgres";
import { getTestDatabase } from "@wfkit/world-postgres/testing";
import { createSqliteWorld } from "@wfkit/world-sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/process.js";
import { type Fixture, type NodeServer, startPlainNode } from "./support.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const exampleDir = path.resolve(here, "../../../examples/vite-app");
const dataDir = path.resolve(here, "../.tmp", `vite-app-data-${process.pid}`);
const example: Fixture = {
  dir: exampleDir,
  dataDir,
  file: (relative) => path.join(exampleDir, relative),
  cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
};

function npmRunBuild(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "build"], { cwd: exampleDir, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`npm run build failed:\n${output}`)),
    );
  });
}

describe("examples/vite-app in production", () => {
  beforeAll(async () => {
    mkdirSync(dataDir, { recursive: true });
    await npmRunBuild();
  }, 120_000);
  afterAll(() => example.cleanup());

  async function serve(env: Record<string, string> = {}): Promise<{ server: NodeServer; base: string }> {
    const server = startPlainNode(example, "server.mjs", { PORT: "0", ...env });
    const line = await server.waitForLine(/^vite-app on http:\/\/localhost:\d+/);
    return { server, base: `http://127.0.0.1:${/:(\d+)/.exec(line.slice(line.indexOf("localhost")))![1]}` };
  }

  it("serves the page and streams an order's progress and receipt", async () => {
    const { server, base } = await serve();
    try {
      await expectOrderStreams(base);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("runs unchanged on the Postgres world (WORKFLOW_TARGET_WORLD=postgres)", async () => {
    const db = await getTestDatabase();
    const { server, base } = await serve({
      WORKFLOW_TARGET_WORLD: "postgres",
      WORKFLOW_POSTGRES_URL: db.url,
      WORKFLOW_POSTGRES_SCHEMA: db.schema,
    });
    try {
      await expectOrderStreams(base);
      // The run is in the database, not in the local world's files.
      const world = await createPostgresWorld({ url: db.url, schema: db.schema });
      try {
        const runs = (await world.listRuns({ limit: 10 })).items;
        expect(runs.map((r) => r.status)).toEqual(["completed"]);
      } finally {
        await world.close();
      }
    } finally {
      await server.stop();
      await db.cleanup();
    }
  }, 120_000);

  it("runs unchanged on the SQLite world (WORKFLOW_TARGET_WORLD=sqlite)", async () => {
    const db = path.join(dataDir, "sqlite", "workflow.db");
    const { server, base } = await serve({ WORKFLOW_TARGET_WORLD: "sqlite", WORKFLOW_SQLITE_PATH: db });
    try {
      await expectOrderStreams(base);
      const world = await createSqliteWorld({ path: db });
      try {
        expect((await world.listRuns({ limit: 10 })).items.map((r) => r.status)).toEqual(["completed"]);
      } finally {
        await world.close();
      }
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe("examples/vite-app in dev", () => {
  let server: NodeServer;
  let base: string;
  beforeAll(async () => {
    mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    server = startPlainNode(example, [
      "node_modules/vite/bin/vite.js",
      "--port",
      String(port),
      "--strictPort",
    ]);
    await server.waitForLine(new RegExp(`localhost:${port}`));
    base = `http://127.0.0.1:${port}`;
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    example.cleanup();
  });

  it("serves the page and streams an order's progress and receipt", async () => {
    await expectOrderStreams(base);
  });
});

async function expectOrderStreams(base: string): Promise<void> {
  expect(await (await fetch(`${base}/`)).text()).toContain('id="place"');
  const { runId } = (await (await fetch(`${base}/api/orders`, { method: "POST" })).json()) as {
    runId: string;
  };
  const stream = await (await fetch(`${base}/api/orders/${runId}/events`)).text();
  const events = stream
    .trim()
    .split("\n\n")
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1],
      data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null"),
    }));
  expect(events.map((e) => (e.event === "progress" ? e.data.step : e.event))).toEqual([
    "reserveStock",
    "chargeCard",
    "ship",
    "done",
  ]);
  expect(events.at(-1)?.data).toMatchObject({ total: 148, trackingNumber: expect.stringMatching(/^TRK-/) });
}
