import type { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkRequirement,
  type DurabilityReport,
  durabilityProblems,
  readDurability,
  warnOnce,
} from "./durability.js";
import { createRedisWorld } from "./redis-world.js";
import { type RedisServer, startRedisServer } from "./testing/server.js";

const report = (r: Partial<DurabilityReport>): DurabilityReport => ({
  aof: true,
  fsync: "everysec",
  save: "",
  evictionPolicy: "noeviction",
  source: "config",
  ...r,
});

/** A stand-in for the ioredis client: CONFIG refused (as managed services do), INFO answered. */
const configRefused = {
  config: async () => {
    throw new Error("ERR unknown command 'CONFIG'");
  },
  info: async (section: string) =>
    section === "persistence"
      ? "# Persistence\r\naof_enabled:1\r\n"
      : "# Memory\r\nmaxmemory_policy:allkeys-lru\r\n",
} as unknown as Redis;

describe("reading and judging the server's durability settings", () => {
  it("falls back to INFO when CONFIG is refused, knowing AOF but not its fsync policy", async () => {
    expect(await readDurability(configRefused)).toEqual({
      aof: true,
      fsync: undefined,
      save: undefined,
      evictionPolicy: "allkeys-lru",
      source: "info",
    });
  });

  it("names each setting that loses runs", () => {
    expect(durabilityProblems(report({}))).toEqual([]);
    expect(durabilityProblems(report({ fsync: "always" }))).toEqual([]);
    expect(durabilityProblems(report({ aof: false, save: "" }))[0]).toMatch(
      /every run is lost when Redis restarts/,
    );
    expect(durabilityProblems(report({ aof: false, save: "3600 1" }))[0]).toMatch(/since the last snapshot/);
    expect(durabilityProblems(report({ fsync: "no" }))[0]).toMatch(/appendfsync no/);
    expect(durabilityProblems(report({ evictionPolicy: "allkeys-lru" }))[0]).toMatch(/deletes keys/);
    expect(durabilityProblems(report({ aof: undefined, source: "unknown" }))[0]).toMatch(/unknown/);
  });

  it("refuses only when asked to, naming what to change", () => {
    expect(() => checkRequirement(report({ aof: false }), undefined, "x")).not.toThrow();
    expect(() => checkRequirement(report({}), true, "x")).not.toThrow();
    expect(() => checkRequirement(report({ aof: false }), true, "x")).toThrow(
      /appendonly is no.*appendonly yes/,
    );
    expect(() => checkRequirement(report({}), "always", "x")).toThrow(/appendfsync is everysec, not always/);
    expect(() => checkRequirement(report({ fsync: "always" }), "always", "x")).not.toThrow();
    expect(() => checkRequirement(report({ fsync: undefined, source: "info" }), "always", "x")).toThrow(
      /unknown \(CONFIG refused\)/,
    );
    expect(() => checkRequirement(report({ evictionPolicy: "volatile-lru" }), true, "x")).toThrow(
      /maxmemory-policy is volatile-lru/,
    );
  });

  it("warns once per process and server", () => {
    const messages: string[] = [];
    const where = `redis://warn-test-${Math.random()}:6379`;
    warnOnce(report({ aof: false }), where, (m) => messages.push(m));
    warnOnce(report({ aof: false }), where, (m) => messages.push(m));
    warnOnce(report({}), `${where}/other`, (m) => messages.push(m));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/does not keep runs safely: AOF is off.*WORKFLOW_REDIS_REQUIRE_AOF/);
  });
});

describe("the durability check when a world opens", () => {
  const servers: RedisServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it("on a server without AOF: warns once, or refuses with requireDurability", async () => {
    const server = await startRedisServer(); // --appendonly no --save ""
    servers.push(server);
    const warnings: string[] = [];
    for (let i = 0; i < 2; i++) {
      const world = await createRedisWorld({ url: server.url, warn: (m) => warnings.push(m) });
      expect(world.durability).toMatchObject({ aof: false, save: "", source: "config" });
      await world.close();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/AOF is off \(appendonly no\) and RDB snapshots are off/);
    // Saying the server is meant to keep nothing (WORKFLOW_REDIS_REQUIRE_AOF=0) opens it without a warning.
    const quiet: string[] = [];
    const accepted = await createRedisWorld({
      url: `${server.url}/1`,
      requireDurability: false,
      warn: (m) => quiet.push(m),
    });
    await accepted.close();
    expect(quiet).toEqual([]);
    await expect(createRedisWorld({ url: server.url, requireDurability: true })).rejects.toMatchObject({
      code: "REDIS_NOT_DURABLE",
    });
  });

  it("on a server with AOF and CONFIG disabled: reads AOF from INFO; `always` cannot be confirmed", async () => {
    const server = await startRedisServer(["--appendonly", "yes", "--rename-command", "CONFIG", ""]);
    servers.push(server);
    const world = await createRedisWorld({ url: server.url, requireDurability: true, warn: () => {} });
    expect(world.durability).toMatchObject({ aof: true, fsync: undefined, source: "info" });
    await world.close();
    await expect(
      createRedisWorld({ url: server.url, requireDurability: "always", warn: () => {} }),
    ).rejects.toThrow(/appendfsync is unknown \(CONFIG refused\)/);
  });

  it("on a server with AOF fsynced always: opens under requireDurability always, without a warning", async () => {
    const server = await startRedisServer(["--appendonly", "yes", "--appendfsync", "always"]);
    servers.push(server);
    const warnings: string[] = [];
    const world = await createRedisWorld({
      url: server.url,
      requireDurability: "always",
      warn: (m) => warnings.push(m),
    });
    expect(world.durability).toMatchObject({ aof: true, fsync: "always", source: "config" });
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    expect((await world.getRun(run.runId))?.lastSeq).toBe(1);
    await world.close();
    expect(warnings).toEqual([]);
  });
});
