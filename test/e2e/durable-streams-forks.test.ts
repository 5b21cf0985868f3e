/**
 * Durable Streams forks survive the server: a server process makes a source stream, a sub-offset fork of it, a
 * fork of that fork, and soft-deletes the source; it is SIGKILLed; a new server process over the same world
 * (local directory, Postgres database, SQLite file, Redis) serves the same bytes at the same offsets, still refuses the deleted
 * source (410) and its path (409), and releases the chain when the forks are deleted.
 */
import { describe, expect, it } from "vitest";
import { type SpawnedNode, spawnNode } from "./support/process.js";
import { worldSetups } from "./support/world-setups.js";

const setups = worldSetups("ds-forks", () => ({}));
const offset = (n: number) => `0000000000000000_${String(n).padStart(16, "0")}`;

describe.each(["local", "postgres", "sqlite", "redis"] as const)(
  "Durable Streams forks (%s world)",
  (worldName) => {
    it("keep their data, offsets, soft-deleted sources and references across a server restart", {
      timeout: 120_000,
    }, async () => {
      const setup = await setups[worldName]();
      const holder = await setup.world.createRun({
        runId: `wrun_dsforks${Date.now()}`,
        workflowName: "durable-streams-forks",
        input: "[]",
      });
      const spawned: SpawnedNode[] = [];
      const serve = async () => {
        const server = spawnNode(setup.project, ["src/serve.ts"], {
          ...setup.env,
          HOLDER_RUN_ID: holder.run.runId,
        });
        spawned.push(server);
        const port = /LISTENING (\d+)/.exec(await server.waitForLine(/^LISTENING \d+/, 30_000))![1];
        return { server, base: `http://127.0.0.1:${port}/v1/stream` };
      };
      try {
        const first = await serve();
        const at = (name: string) => `${first.base}/${name}`;
        const text = { "content-type": "text/plain" };
        expect((await fetch(at("source"), { method: "PUT", headers: text, body: "A" })).status).toBe(201);
        await fetch(at("source"), { method: "POST", headers: text, body: "BCD" });
        await fetch(at("source"), { method: "POST", headers: text, body: "E" });
        // fork1: "A", then the first two bytes of "BCD" as its own first append, then "x".
        const fork1 = await fetch(at("fork1"), {
          method: "PUT",
          headers: {
            "Stream-Forked-From": "/v1/stream/source",
            "Stream-Fork-Offset": offset(1),
            "Stream-Fork-Sub-Offset": "2",
          },
        });
        expect(fork1.status).toBe(201);
        expect(fork1.headers.get("stream-next-offset")).toBe(offset(2));
        await fetch(at("fork1"), { method: "POST", headers: text, body: "x" });
        expect(
          (await fetch(at("fork2"), { method: "PUT", headers: { "Stream-Forked-From": "/v1/stream/fork1" } }))
            .status,
        ).toBe(201);
        await fetch(at("fork2"), { method: "POST", headers: text, body: "y" });
        expect((await fetch(at("source"), { method: "DELETE" })).status).toBe(204);

        first.server.child.kill("SIGKILL");
        await first.server.done;
        const second = await serve();
        const again = (name: string) => `${second.base}/${name}`;

        const read = async (name: string, from: string) => {
          const response = await fetch(`${again(name)}?offset=${from}`);
          expect(response.status).toBe(200);
          return { body: await response.text(), next: response.headers.get("stream-next-offset") };
        };
        expect(await read("fork1", "-1")).toEqual({ body: "ABCx", next: offset(3) });
        expect(await read("fork1", offset(2))).toEqual({ body: "x", next: offset(3) });
        expect(await read("fork2", offset(1))).toEqual({ body: "BCxy", next: offset(4) });
        expect(await read("fork2", offset(4))).toEqual({ body: "", next: offset(4) });
        expect((await fetch(again("source"), { method: "HEAD" })).status).toBe(410);
        expect((await fetch(again("source"), { method: "PUT", headers: text })).status).toBe(409);

        // A long-poll at fork2's tail wakes for fork2's appends, nothing else.
        const poll = fetch(`${again("fork2")}?offset=${offset(4)}&live=long-poll`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        await fetch(again("fork1"), { method: "POST", headers: text, body: "not for fork2" });
        await fetch(again("fork2"), { method: "POST", headers: text, body: "z" });
        const woken = await poll;
        expect(woken.status).toBe(200);
        expect(await woken.text()).toBe("z");

        // fork2 goes; fork1 (still live) keeps the soft-deleted source; when fork1 goes, so does the source.
        expect((await fetch(again("fork2"), { method: "DELETE" })).status).toBe(204);
        expect((await fetch(again("source"), { method: "HEAD" })).status).toBe(410);
        expect((await fetch(again("fork1"), { method: "DELETE" })).status).toBe(204);
        expect((await fetch(again("fork1"), { method: "HEAD" })).status).toBe(404);
        expect((await fetch(again("source"), { method: "HEAD" })).status).toBe(404);
        expect((await fetch(again("source"), { method: "PUT", headers: text, body: "new" })).status).toBe(
          201,
        );
        expect(await read("source", "-1")).toEqual({ body: "new", next: offset(1) });
      } finally {
        for (const child of spawned) child.child.kill("SIGKILL");
        await Promise.all(spawned.map((c) => c.done));
        await setup.cleanup();
      }
    });
  },
);
