import { createMemoryWorld } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { FORK_HEADERS } from "./forks.js";
import { createWritableStreamsHandler } from "./writable-streams.js";

const ORIGIN = "http://app.test";
const offset = (n: number) => `0000000000000000_${String(n).padStart(16, "0")}`;
const text = { "content-type": "text/plain" };

/** A handler mounted under `/base/` (it is handed the path after it), and a fetch-like caller. */
async function mounted() {
  const world = createMemoryWorld();
  const { run } = await world.createRun({ runId: "wrun_holder", workflowName: "holder", input: "[]" });
  const handler = createWritableStreamsHandler({ world, runId: run.runId, longPollTimeoutMs: 500 });
  return (name: string, init: RequestInit = {}) =>
    handler(new Request(`${ORIGIN}/base/${name}`, init), name.split("?")[0]!);
}

describe("writable streams: forks", () => {
  it("resolve Stream-Forked-From against the mount point, as a path or a URL of this server", async () => {
    const call = await mounted();
    await call("src", { method: "PUT", headers: text, body: "hello" });
    const byPath = await call("f1", { method: "PUT", headers: { [FORK_HEADERS.from]: "/base/src" } });
    expect(byPath.status).toBe(201);
    const byUrl = await call("f2", { method: "PUT", headers: { [FORK_HEADERS.from]: `${ORIGIN}/base/src` } });
    expect(byUrl.status).toBe(201);
    expect(await (await call("f2?offset=-1")).text()).toBe("hello");
    const elsewhere = await call("f3", {
      method: "PUT",
      headers: { [FORK_HEADERS.from]: "http://other.test/base/src" },
    });
    expect(elsewhere.status).toBe(400);
    expect(await elsewhere.text()).toMatch(/Stream-Forked-From.*this server/);
  });

  it("refuse fork headers without a source, and malformed offsets, naming the header", async () => {
    const call = await mounted();
    await call("src", { method: "PUT", headers: text, body: "hello" });
    const noSource = await call("f", {
      method: "PUT",
      headers: { ...text, [FORK_HEADERS.offset]: offset(0) },
    });
    expect(noSource.status).toBe(400);
    expect(await noSource.text()).toMatch(/Stream-Fork-Offset needs Stream-Forked-From/);
    const badOffset = await call("f", {
      method: "PUT",
      headers: { [FORK_HEADERS.from]: "/base/src", [FORK_HEADERS.offset]: "12" },
    });
    expect(badOffset.status).toBe(400);
    expect(await badOffset.text()).toMatch(/Invalid Stream-Fork-Offset/);
    // Nothing was created by the refused requests.
    expect((await call("f", { method: "HEAD" })).status).toBe(404);
  });

  it("take a sub-offset from an append the source itself inherited", async () => {
    const call = await mounted();
    await call("l0", { method: "PUT", headers: text, body: "A" });
    await call("l0", { method: "POST", headers: text, body: "BCD" });
    await call("l1", { method: "PUT", headers: { [FORK_HEADERS.from]: "/base/l0" } });
    await call("l1", { method: "POST", headers: text, body: "x" });
    const l2 = await call("l2", {
      method: "PUT",
      headers: {
        [FORK_HEADERS.from]: "/base/l1",
        [FORK_HEADERS.offset]: offset(1),
        [FORK_HEADERS.subOffset]: "2",
      },
    });
    expect(l2.status).toBe(201);
    expect(l2.headers.get("stream-next-offset")).toBe(offset(2));
    const read = await call("l2?offset=-1");
    expect(await read.text()).toBe("ABC");
    expect(read.headers.get("stream-next-offset")).toBe(offset(2));
  });

  it("release their source when they expire", async () => {
    const call = await mounted();
    await call("src", { method: "PUT", headers: text, body: "data" });
    const soon = new Date(Date.now() + 300).toISOString();
    await call("fork", {
      method: "PUT",
      headers: { [FORK_HEADERS.from]: "/base/src", "Stream-Expires-At": soon },
    });
    expect((await call("src", { method: "DELETE" })).status).toBe(204);
    expect((await call("src", { method: "HEAD" })).status).toBe(410);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await call("fork", { method: "HEAD" })).status).toBe(404);
    expect((await call("src", { method: "HEAD" })).status).toBe(404);
  });
});

describe("writable streams: expiry", () => {
  it("lets a request that finds its stream expired create it again (it used to wait on its own lock)", async () => {
    const call = await mounted();
    const soon = () => new Date(Date.now() + 200).toISOString();
    expect(
      (await call("s", { method: "PUT", headers: { ...text, "Stream-Expires-At": soon() } })).status,
    ).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const again = await call("s", { method: "PUT", headers: text, body: "new" });
    expect(again.status).toBe(201);
    expect(await (await call("s?offset=-1")).text()).toBe("new");
    const append = await call("s", { method: "POST", headers: text, body: "!" });
    expect(append.status).toBe(204);
  }, 5_000);
});
