import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { fillBaseUrlOnListen } from "./vite-dev.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(env: NodeJS.ProcessEnv, host: string, https = false): Promise<number> {
  const server = createServer();
  servers.push(server);
  fillBaseUrlOnListen(server, https, env);
  server.listen(0, host);
  await once(server, "listening");
  return (server.address() as { port: number }).port;
}

describe("fillBaseUrlOnListen", () => {
  it("points webhook URLs at the dev or preview server when the user set no WORKFLOW_BASE_URL", async () => {
    const env: NodeJS.ProcessEnv = {};
    const port = await listen(env, "127.0.0.1");
    expect(env.WORKFLOW_BASE_URL).toBe(`http://localhost:${port}`);
    // A restarted server on another port replaces the value this process derived.
    const again = await listen(env, "127.0.0.1", true);
    expect(env.WORKFLOW_BASE_URL).toBe(`https://localhost:${again}`);
  });

  it("never replaces the user's WORKFLOW_BASE_URL", async () => {
    const env: NodeJS.ProcessEnv = { WORKFLOW_BASE_URL: "https://app.example.com" };
    await listen(env, "127.0.0.1");
    expect(env.WORKFLOW_BASE_URL).toBe("https://app.example.com");
  });
});
