/**
 * Connections that break: an answer lost after the script ran, a request lost before it ran, and the world's
 * connections killed by the server (CLIENT KILL) while appends are in flight. Nothing may be stored twice, no
 * append may be lost, and the process must not crash.
 */
import { isWorldError, type NewEvent, type RunNotification, type World, WorldError } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import { FaultyProxy } from "./__tests__/faulty-proxy.js";
import { sharedInstances, sleep, stepTask, until } from "./__tests__/instances.js";
import { createRedisWorld } from "./redis-world.js";
import { callScript, type ScriptReply } from "./scripts/index.js";
import { killClientsWith } from "./testing/server.js";

const step = (id: string): NewEvent => ({
  type: "step_created",
  correlationId: id,
  data: { stepName: "step//./m//s", input: "[]" },
});

describe("an answer lost on the way (through a proxy that drops it)", () => {
  const shared = sharedInstances();
  let proxy: FaultyProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  const openThroughProxy = async () => {
    proxy = await FaultyProxy.start(shared.redis.url);
    return shared.open({ url: proxy.url });
  };

  it("a world opens when its handshake, its durability check or its subscription loses its answer", async () => {
    proxy = await FaultyProxy.start(shared.redis.url);
    const { prefix } = shared.redis;
    // The connection name (in the handshake), CONFIG GET appendonly, SUBSCRIBE <prefix>notify.
    for (const marker of [prefix, "appendonly", `${prefix}notify`]) {
      proxy.loseAnswer(marker);
      const before = proxy.triggered;
      const world = await shared.open({ url: proxy.url });
      expect(proxy.triggered, marker).toBe(before + 1);
      // Asked again, not mistaken for a server that refuses CONFIG.
      expect(world.durability.source).toBe("config");
      const other = await shared.open();
      const heard: RunNotification[] = [];
      world.subscribe((n) => heard.push(n));
      await other.createRun({ workflowName: "wf", input: "[]" });
      await until(() => heard.length > 0, `a notification after losing the answer to ${marker}`);
    }
  });

  it("an append whose answer was lost after it was stored succeeds, stored once", async () => {
    const world = await openThroughProxy();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    proxy!.loseAnswer("marker-answer-lost");
    const res = await world.append(run.runId, 1, [step("marker-answer-lost"), step("second")]);
    expect(proxy!.triggered).toBe(1);
    expect(res.run.lastSeq).toBe(3);
    const events = await world.readEvents(run.runId);
    expect(events.map((e) => e.correlationId)).toEqual([undefined, "marker-answer-lost", "second"]);
    // The cached state is the stored one: the next append fits.
    await world.append(run.runId, 3, [step("third")]);
    expect((await world.listSteps(run.runId)).map((s) => s.stepId).sort()).toEqual([
      "marker-answer-lost",
      "second",
      "third",
    ]);
  });

  it("an append whose request was lost before it ran is sent again and stored once", async () => {
    const world = await openThroughProxy();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    proxy!.loseRequest("marker-request-lost");
    const res = await world.append(run.runId, 1, [step("marker-request-lost")]);
    expect(proxy!.triggered).toBe(1);
    expect(res.run.lastSeq).toBe(2);
    expect((await world.readEvents(run.runId)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it("a lost answer to an append that another writer beat is a conflict, not a success", async () => {
    const world = await openThroughProxy();
    const other = await shared.open();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    await other.append(run.runId, 1, [step("theirs")]);
    proxy!.loseAnswer("marker-beaten");
    let error: unknown;
    try {
      await world.append(run.runId, 1, [step("marker-beaten")]);
    } catch (e) {
      error = e;
    }
    expect(isWorldError(error, "APPEND_CONFLICT")).toBe(true);
    expect((await world.readEvents(run.runId)).map((e) => e.correlationId)).toEqual([undefined, "theirs"]);
  });

  it("a createRun whose answer was lost returns the run and the lease it took", async () => {
    const world = await openThroughProxy();
    proxy!.loseAnswer("wrun_markercreate");
    const res = await world.createRun({
      runId: "wrun_markercreate",
      workflowName: "wf",
      input: "[]",
      lease: { owner: "A", ttlMs: 60_000 },
    });
    expect(proxy!.triggered).toBe(1);
    expect(res.run).toMatchObject({ runId: "wrun_markercreate", lastSeq: 1 });
    expect(res.lease).toMatchObject({ owner: "A", token: 1 });
    expect(await world.acquireLease("wrun_markercreate", "B", 1_000)).toBeUndefined();
    await world.append("wrun_markercreate", 1, [{ type: "run_started" }], { lease: res.lease! });
  });

  it("a delivery whose answer was lost is recorded once and heard by this instance's subscribers", async () => {
    const world = await openThroughProxy();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    await world.append(run.runId, 1, [
      { type: "hook_created", correlationId: "h1", data: { token: "t-lost" } },
    ]);
    const heard: RunNotification[] = [];
    world.subscribe((n) => heard.push(n), run.runId);
    proxy!.loseAnswer("marker-delivery");
    const { delivery } = await world.deliver(run.runId, {
      deliveryId: "marker-delivery",
      event: { type: "hook_received", correlationId: "h1", data: { payload: '"p"' } },
    });
    expect(proxy!.triggered).toBe(1);
    expect(delivery.deliveryId).toBe("marker-delivery");
    expect(await world.listDeliveries(run.runId)).toHaveLength(1);
    await until(() => heard.some((n) => n.kind === "delivered"), "the delivered notification");
  });

  it("a stream write whose answer was lost is stored once", async () => {
    const world = await openThroughProxy();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    proxy!.loseAnswer("marker-chunk");
    expect(await world.writeStream!(run.runId, "s", ["marker-chunk", "b"])).toEqual({ nextIndex: 2 });
    expect(proxy!.triggered).toBe(1);
    expect((await world.readStream!(run.runId, "s")).chunks.map((c) => c.data)).toEqual([
      "marker-chunk",
      "b",
    ]);
  });

  it("a step task completion whose answer was lost is true and heard once by this instance", async () => {
    const world = await openThroughProxy();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    const task = stepTask(run.runId, "step_0001");
    await world.offerStepTasks!([task]);
    const [claimed] = await world.claimStepTasks!("A", 60_000, 1);
    const heard: string[] = [];
    world.subscribeStepTasks!((n) => heard.push(n.kind));
    proxy!.loseAnswer("marker-outcome");
    expect(
      await world.completeStepTask!(claimed!, { type: "step_completed", data: { output: "marker-outcome" } }),
    ).toBe(true);
    expect(proxy!.triggered).toBe(1);
    await sleep(100);
    expect(heard.filter((k) => k === "completed")).toHaveLength(1);
  });
});

describe("connections killed by the server", () => {
  const shared = sharedInstances();

  it("appends in flight while the world's connections are killed again and again are each stored exactly once", async () => {
    const world = await shared.open();
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => world.createRun({ workflowName: "wf", input: "[]" })),
    );
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    let killing = true;
    let kills = 0;
    const killer = (async () => {
      while (killing) {
        kills += await killClientsWith(shared.admin, (n) => n.startsWith(world.connectionName));
        await sleep(15);
      }
    })();
    const lost: string[] = [];
    // Two writers per run race with each other (conflicts) while their connections die under them.
    const writer = async (runId: string, w: number) => {
      for (let i = 0; i < 25; i++) {
        const id = `w${w}-${i}`;
        for (;;) {
          try {
            const head = (await world.getRun(runId))!.lastSeq;
            await world.append(runId, head, [step(id)]);
            break;
          } catch (e) {
            if (isWorldError(e, "APPEND_CONFLICT")) continue;
            // Five answers lost in a row: the caller is told it may or may not be stored, and re-reads.
            if (isWorldError(e, "CONNECTION_LOST")) {
              lost.push(id);
              const stored = await world.readEvents(runId);
              if (stored.some((ev) => ev.correlationId === id)) break;
              continue;
            }
            throw e;
          }
        }
      }
    };
    try {
      await Promise.all(runs.flatMap(({ run }) => [writer(run.runId, 0), writer(run.runId, 1)]));
    } finally {
      killing = false;
      await killer;
      process.off("unhandledRejection", onUnhandled);
    }
    expect(kills).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
    for (const { run } of runs) {
      const events = await world.readEvents(run.runId);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      const ids = events.slice(1).map((e) => e.correlationId);
      expect(ids).toHaveLength(50);
      expect(new Set(ids).size).toBe(50);
      expect(await world.listSteps(run.runId)).toHaveLength(50);
    }
    console.log(
      `${kills} connections killed; ${lost.length} appends reported CONNECTION_LOST and were re-read`,
    );
  }, 60_000);

  it("worlds opened while their connections are killed at random moments open, or refuse with a WorldError", async () => {
    const { url, prefix } = shared.redis;
    let killing = true;
    let kills = 0;
    const killer = (async () => {
      while (killing) {
        kills += await killClientsWith(shared.admin, (name) => name.includes(`:${prefix}:`));
        await sleep(Math.random() * 8);
      }
    })();
    let opened = 0;
    const refusals: unknown[] = [];
    try {
      for (let i = 0; i < 15; i++) {
        let world: World;
        try {
          world = await createRedisWorld({ url, prefix, warn: () => {} });
        } catch (error) {
          refusals.push(error);
          continue;
        }
        opened++;
        try {
          const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
          await world.append(run.runId, 1, [{ type: "run_started" }]);
        } catch (error) {
          refusals.push(error); // five answers lost in a row: CONNECTION_LOST
        } finally {
          await world.close();
        }
      }
    } finally {
      killing = false;
      await killer;
    }
    expect(kills).toBeGreaterThan(0);
    expect(opened).toBeGreaterThan(0);
    for (const error of refusals) expect(error).toBeInstanceOf(WorldError);
    // Once the kills stop, a world opens and works.
    const world = await shared.open();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    expect((await world.append(run.runId, 1, [{ type: "run_started" }])).run.lastSeq).toBe(2);
    console.log(`${kills} connections killed; ${opened} of 15 opens succeeded; ${refusals.length} refusals`);
  }, 60_000);

  it("a killed subscriber connection comes back, and a run that ended meanwhile is reported to its waiter", async () => {
    const world = await shared.open();
    const other = await shared.open({ subscribe: false });
    const { run } = await other.createRun({ workflowName: "wf", input: "[]" });
    const heard: RunNotification[] = [];
    world.subscribe((n) => heard.push(n), run.runId);
    const ready = new Promise<void>((resolve) => subscriberOf(world).once("ready", () => resolve()));
    expect(await shared.kill(world, "sub")).toBe(1);
    // Ended while (or just before) the subscriber is away: its message may be lost; the resync reports it.
    await other.append(run.runId, 1, [{ type: "run_completed", data: { output: "1" } }]);
    await ready;
    await until(() => heard.some((n) => n.kind === "finished"), "the finished notification");
    // And notifications flow again afterwards.
    const { run: next } = await other.createRun({ workflowName: "wf", input: "[]" });
    const later: RunNotification[] = [];
    world.subscribe((n) => later.push(n), next.runId);
    await other.append(next.runId, 1, [{ type: "run_started" }]);
    await until(() => later.some((n) => n.kind === "appended"), "a notification after the reconnect");
  });

  it("the script refuses a stream write ID it has seen, answering what that write answered", async () => {
    const world = await shared.open();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    const client = commandClientOf(world);
    const write = () =>
      callScript(client, "wfWriteStream", shared.redis.prefix, [
        run.runId,
        `${run.runId.length}:${run.runId}:s`,
        "s",
        "0",
        "write-1",
        "{}",
        "a",
        "b",
      ]) as Promise<ScriptReply[]>;
    expect(await write()).toEqual(["ok", 2]);
    expect(await write()).toEqual(["ok", 2]);
    expect((await world.readStream!(run.runId, "s")).chunks).toHaveLength(2);
  });
});

/** The world's ioredis connections (private fields; tests only). */
function subscriberOf(world: World): import("ioredis").Redis {
  return (world as unknown as { subscriber: import("ioredis").Redis }).subscriber;
}
function commandClientOf(world: World): import("ioredis").Redis {
  return (world as unknown as { client: import("ioredis").Redis }).client;
}
