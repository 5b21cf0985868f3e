import { QueueClient } from "@vercel/queue";
import { afterEach, describe, expect, it } from "vitest";
import { type QueueService, startQueueService } from "./queue-service.js";

const services: QueueService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
});

async function setup() {
  const service = await startQueueService();
  services.push(service);
  const client = new QueueClient({
    region: "iad1",
    token: service.token,
    resolveBaseUrl: () => new URL(service.url),
    deploymentId: null,
  });
  return { service, client };
}

describe("the loopback queue service, driven by the real @vercel/queue client", () => {
  it("pushes a sent message to the consumer's handleCallback, which acknowledges it", async () => {
    const { service, client } = await setup();
    const got: { payload: unknown; deliveryCount: number; topicName: string }[] = [];
    service.subscribe({
      topic: "orders",
      deliver: client.handleCallback(async (payload, meta) => {
        got.push({ payload, deliveryCount: meta.deliveryCount, topicName: meta.topicName });
      }),
    });
    const { messageId } = await client.send("orders", { id: 7 });
    expect(messageId).toMatch(/^msg_/);
    await service.idle(5_000);
    expect(got).toEqual([{ payload: { id: 7 }, deliveryCount: 1, topicName: "orders" }]);
    expect(service.sent("orders")).toEqual([{ messageId, payload: { id: 7 }, acknowledged: true }]);
    expect(service.deliveries.map((d) => d.status)).toEqual([200]);
  });

  it("delivers again, with the next delivery count, when the handler throws", async () => {
    const { service, client } = await setup();
    const counts: number[] = [];
    service.subscribe({
      topic: "t",
      retryAfterMs: 50,
      deliver: client.handleCallback(async (_payload, meta) => {
        counts.push(meta.deliveryCount);
        if (meta.deliveryCount < 3) throw new Error("not yet");
      }),
    });
    await client.send("t", { n: 1 });
    await service.idle(5_000);
    expect(counts).toEqual([1, 2, 3]);
    expect(service.deliveries.map((d) => d.status)).toEqual([500, 500, 200]);
  });

  it("redelivers a message whose consumer died without answering once its visibility timeout passes", async () => {
    const { service, client } = await setup();
    const handler = client.handleCallback(async () => {});
    let calls = 0;
    service.subscribe({
      topic: "t",
      visibilityTimeoutMs: 200,
      retryAfterMs: 10_000,
      deliver: async (request) => {
        calls++;
        if (calls === 1) throw new Error("function instance killed");
        return handler(request);
      },
    });
    const sentAt = Date.now();
    await client.send("t", "x");
    await service.idle(5_000);
    expect(service.deliveries.map((d) => [d.deliveryCount, d.status])).toEqual([
      [1, "crashed"],
      [2, 200],
    ]);
    // A crash is not a refusal: the message comes back when its lock ends, not after retryAfterMs.
    expect(service.deliveries[1]!.startedAt - sentAt).toBeLessThan(2_000);
  });

  it("honours delaySeconds, idempotency keys and the retry directive", async () => {
    const { service, client } = await setup();
    const seen: number[] = [];
    service.subscribe({
      topic: "t",
      deliver: client.handleCallback(
        async (_payload, meta) => {
          seen.push(Date.now());
          if (meta.deliveryCount === 1) throw new Error("later");
        },
        { retry: () => ({ afterSeconds: 1 }) },
      ),
    });
    const sentAt = Date.now();
    const a = await client.send("t", { k: 1 }, { delaySeconds: 1, idempotencyKey: "same" });
    const b = await client.send("t", { k: 2 }, { delaySeconds: 1, idempotencyKey: "same" });
    expect(b.messageId).toBe(a.messageId);
    await service.idle(10_000);
    expect(service.sent("t")).toHaveLength(1);
    expect(seen).toHaveLength(2);
    expect(seen[0]! - sentAt).toBeGreaterThanOrEqual(1_000);
    // The directive rescheduled it (PATCH of the lease) rather than letting it fail.
    expect(seen[1]! - seen[0]!).toBeGreaterThanOrEqual(950);
    expect(service.deliveries.map((d) => d.status)).toEqual([200, 200]);
  });

  it("refuses a client without the service's token", async () => {
    const { service } = await setup();
    const stranger = new QueueClient({
      region: "iad1",
      token: "wrong",
      resolveBaseUrl: () => new URL(service.url),
      deploymentId: null,
    });
    await expect(stranger.send("t", {})).rejects.toThrow();
    expect(service.sent("t")).toEqual([]);
  });
});
