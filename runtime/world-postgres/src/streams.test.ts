/**
 * Streams on Postgres beyond the conformance suite: what only a world shared between processes has
 * (several instances, each with its own pool and LISTEN connection, on one schema).
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { sharedInstances, sleep, until } from "./__tests__/shared-instances.js";
import { PgStreams } from "./streams.js";

describe("PgStreams notifications", () => {
  const make = (origin: string) =>
    new PgStreams({
      pool: undefined as unknown as pg.Pool,
      s: '"x"',
      origin,
      retries: 1,
      read: () => Promise.reject(new Error("no database in this test")),
      isClosed: () => false,
    });

  it("takes only stream payloads, skips its own echo, and calls every subscriber after a gap", () => {
    const mine = make("me");
    const other = make("other");
    let heard = 0;
    let elsewhere = 0;
    const off = mine.subscribe("r1", "s", () => heard++);
    mine.subscribe("r1", "t", () => elsewhere++);
    expect(mine.deliverRemote('{"runId":"r1","kind":"appended"}')).toBe(false); // a run notification
    expect(mine.deliverRemote(mine.payload("r1", "s"))).toBe(true);
    expect(heard).toBe(0);
    expect(mine.deliverRemote(other.payload("r1", "s"))).toBe(true);
    expect(heard).toBe(1);
    expect(elsewhere).toBe(0);
    expect(mine.deliverRemote("stream:not json")).toBe(true);
    mine.resync();
    expect([heard, elsewhere]).toEqual([2, 1]);
    off();
    off(); // a second unsubscribe must not drop anything else
    mine.resync();
    expect([heard, elsewhere]).toEqual([2, 2]);
  });

  it("a stream name too long for a NOTIFY payload wakes every subscriber of that run instead", () => {
    const mine = make("me");
    const other = make("other");
    const long = "n".repeat(8_000);
    const woken: string[] = [];
    mine.subscribe("r1", long, () => woken.push("long"));
    mine.subscribe("r1", "short", () => woken.push("short"));
    mine.subscribe("r2", "short", () => woken.push("r2"));
    const payload = other.payload("r1", long);
    expect(Buffer.byteLength(payload)).toBeLessThan(8_000);
    mine.deliverRemote(payload);
    expect(woken.sort()).toEqual(["long", "short"]);
  });
});

describe("postgres streams shared between instances", () => {
  const shared = sharedInstances();
  const { open } = shared;

  it("a reader on another instance is woken by each write and by the close", async () => {
    const writer = await open();
    const reader = await open();
    const { run } = await writer.createRun({ workflowName: "wf", input: "[]" });
    let woken = 0;
    const off = reader.subscribeStream!(run.runId, "out", () => woken++);
    await writer.writeStream!(run.runId, "out", ["a"]);
    await until(() => woken >= 1, "the first write to reach the other instance");
    expect(await reader.readStream!(run.runId, "out")).toEqual({
      chunks: [{ index: 0, data: "a" }],
      closed: false,
    });
    const before = woken;
    await writer.writeStream!(run.runId, "out", ["b"], { close: true });
    await until(() => woken > before, "the close to reach the other instance");
    expect(await reader.readStream!(run.runId, "out")).toEqual({
      chunks: [
        { index: 0, data: "a" },
        { index: 1, data: "b" },
      ],
      closed: true,
    });
    off();
  });

  it("a stream whose name is longer than a NOTIFY payload is written and its reader woken", async () => {
    const writer = await open();
    const reader = await open();
    const { run } = await writer.createRun({ workflowName: "wf", input: "[]" });
    const name = "n".repeat(9_000);
    let woken = 0;
    reader.subscribeStream!(run.runId, name, () => woken++);
    expect(await writer.writeStream!(run.runId, name, ["a"])).toEqual({ nextIndex: 1 });
    await until(() => woken >= 1, "the reader of the long-named stream to be woken");
    expect((await reader.readStream!(run.runId, name)).chunks).toEqual([{ index: 0, data: "a" }]);
  });

  it("a live tail across instances sees every chunk once, in order, until the close", async () => {
    const writer = await open();
    const reader = await open();
    const { run } = await writer.createRun({ workflowName: "wf", input: "[]" });
    const seen: string[] = [];
    // What the engine's readable does: re-read from the next index whenever the stream changes.
    const tail = new Promise<void>((resolve, reject) => {
      let next = 0;
      let reading = false;
      let again = false;
      const pull = async () => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            const page = await reader.readStream!(run.runId, "live", { startIndex: next });
            for (const c of page.chunks) seen.push(c.data);
            next += page.chunks.length;
            if (page.closed) {
              off();
              resolve();
              return;
            }
          } while (again);
        } catch (error) {
          reject(error);
        } finally {
          reading = false;
        }
      };
      const off = reader.subscribeStream!(run.runId, "live", () => void pull());
      void pull();
    });
    for (let i = 0; i < 20; i++) await writer.writeStream!(run.runId, "live", [`c${i}`]);
    await writer.writeStream!(run.runId, "live", [], { close: true });
    await tail;
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`));
  });

  it("concurrent writers on two instances get dense, non-overlapping indexes, each batch kept together", async () => {
    const a = await open();
    const b = await open();
    const { run } = await a.createRun({ workflowName: "wf", input: "[]" });
    const writes = Array.from({ length: 30 }, (_, i) =>
      (i % 2 ? a : b).writeStream!(run.runId, "s", [`${i}.0`, `${i}.1`, `${i}.2`]),
    );
    const results = await Promise.all(writes);
    const { chunks } = await a.readStream!(run.runId, "s");
    expect(chunks.map((c) => c.index)).toEqual(Array.from({ length: 90 }, (_, i) => i));
    // Each write's three chunks are adjacent and in order, and its nextIndex is right after them.
    results.forEach((r, i) => {
      const at = chunks.findIndex((c) => c.data === `${i}.0`);
      expect(chunks.slice(at, at + 3).map((c) => c.data)).toEqual([`${i}.0`, `${i}.1`, `${i}.2`]);
      expect(r.nextIndex).toBe(at + 3);
    });
  });

  it("a write refused on one instance after another closed the stream; refusals leave nothing behind", async () => {
    const a = await open();
    const b = await open();
    const { run } = await a.createRun({ workflowName: "wf", input: "[]" });
    await a.writeStream!(run.runId, "s", ["x"], { close: true });
    await expect(b.writeStream!(run.runId, "s", ["y"])).rejects.toMatchObject({ code: "STREAM_CLOSED" });
    await expect(b.writeStream!(run.runId, "s", [], { close: true })).rejects.toMatchObject({
      code: "STREAM_CLOSED",
    });
    // A refused stream name leaves nothing behind either (NUL in chunks is stored: nul-text.test.ts).
    await expect(b.writeStream!(run.runId, "n\u0000", ["x"])).rejects.toMatchObject({
      code: "INVALID_STREAM_NAME",
    });
    expect(await b.readStream!(run.runId, "n")).toEqual({ chunks: [], closed: false });
    expect(await b.readStream!(run.runId, "s")).toEqual({ chunks: [{ index: 0, data: "x" }], closed: true });
  });

  it("a write resent after a broken connection is not stored twice", async () => {
    const w = await open();
    const { run } = await w.createRun({ workflowName: "wf", input: "[]" });
    const s = `"${shared.db.schema}"`;
    const call = (resent: boolean, close = false, chunks = ["a", "b"]) =>
      shared.admin.query(
        `SELECT code, next_idx FROM ${s}.write_stream($1, 's', $2, $3, 'w1', $4, 'stream:x')`,
        [run.runId, chunks, close, resent],
      );
    expect((await call(false)).rows[0]).toEqual({ code: "ok", next_idx: 2 });
    // The resend finds the chunks of the first attempt by write ID and answers from them.
    expect((await call(true)).rows[0]).toEqual({ code: "ok", next_idx: 2 });
    expect((await w.readStream!(run.runId, "s")).chunks).toHaveLength(2);
    // A bare close that committed: its resend sees the closed stream.
    await w.writeStream!(run.runId, "s", [], { close: true });
    expect((await call(true, true, [])).rows[0]).toEqual({ code: "ok", next_idx: 2 });
  });

  it("a resend waits for a first attempt still running on the server instead of writing twice", async () => {
    const w = await open();
    const { run } = await w.createRun({ workflowName: "wf", input: "[]" });
    const s = `"${shared.db.schema}"`;
    const text = `SELECT code, next_idx FROM ${s}.write_stream($1, 'fresh', ARRAY['a'], false, 'w2', $2, 'stream:x')`;
    const first = new pg.Client({ connectionString: shared.db.url });
    await first.connect();
    try {
      await first.query("BEGIN");
      await first.query(text, [run.runId, false]); // stored but not committed yet
      let resendDone = false;
      const resend = shared.admin.query(text, [run.runId, true]).finally(() => {
        resendDone = true;
      });
      await sleep(100);
      expect(resendDone).toBe(false); // it waits on the stream row the first attempt holds
      await first.query("COMMIT");
      expect((await resend).rows[0]).toEqual({ code: "ok", next_idx: 1 });
      expect((await w.readStream!(run.runId, "fresh")).chunks).toEqual([{ index: 0, data: "a" }]);
    } finally {
      await first.end();
    }
  });

  it("survives pg_terminate_backend: writes go through and a reader is woken again after the LISTEN gap", async () => {
    const writer = await open({ applicationName: "wf-stream-victim" });
    const reader = await open({ applicationName: "wf-stream-gap" });
    const { run } = await writer.createRun({ workflowName: "wf", input: "[]" });
    let woken = 0;
    reader.subscribeStream!(run.runId, "s", () => woken++);
    await Promise.all([1, 2, 3, 4].map(() => writer.readStream!(run.runId, "s")));
    const killed = await shared.admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ('wf-stream-victim', 'wf-stream-gap')",
    );
    expect(killed.rowCount).toBeGreaterThanOrEqual(3);
    // Written while the reader's LISTEN connection may be down: the reader must be woken either way.
    expect(await writer.writeStream!(run.runId, "s", ["after-kill"])).toEqual({ nextIndex: 1 });
    await until(() => woken >= 1, "the reader to be woken");
    expect((await reader.readStream!(run.runId, "s")).chunks).toEqual([{ index: 0, data: "after-kill" }]);
  });
});
