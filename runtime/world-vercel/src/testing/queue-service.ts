/**
 * A loopback stand-in for the Vercel Queue Service, for tests and local simulation: it speaks the part of the
 * HTTP API that `@vercel/queue` (0.6) uses for push consumers, as read from that client's code, so the real
 * client (`send`, `handleCallback`) runs against it unchanged:
 *
 * - `POST /api/v3/topic/:topic` (send): the body is the payload; `Vqs-Delay-Seconds`, `Vqs-Idempotency-Key`
 *   and `Vqs-Retention-Seconds` are honoured within the client's documented limits (a key of at most 256
 *   characters, a retention of 60 s to 7 days, a delay no longer than the retention); answers `201 { messageId }`.
 * - push: each consumer group of a topic gets every message as a binary CloudEvent (`ce-type:
 *   com.vercel.queue.v2beta`, `ce-vqsqueuename`, `ce-vqsconsumergroup`, `ce-vqsmessageid`, `ce-vqsreceipthandle`,
 *   `ce-vqsdeliverycount`, `ce-vqscreatedat`, `ce-vqsexpiresat`, `ce-vqsvisibilitydeadline`), the payload as body.
 * - `DELETE …/consumer/:group/lease/:receiptHandle` (acknowledge) and `PATCH …` with
 *   `{ visibilityTimeoutSeconds }` (extend, or reschedule on `retry: { afterSeconds }`); a stale receipt handle
 *   is 409.
 *
 * A message stays locked while its consumer has it; one not acknowledged when its visibility deadline passes
 * (the consumer crashed, was killed, or answered an error) is delivered again with the next delivery count and a
 * new receipt handle. Requests without the configured bearer token are 401.
 *
 * Not simulated: regions and deployment pinning (headers ignored), polling consumers (`receive`), batches, message
 * expiry beyond the retention header, and Vercel's own scaling of function instances (every push runs at once).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** Delivers one pushed message: an HTTP callback, as Vercel invokes a function. Throwing counts as a crash. */
export type Deliver = (request: Request) => Promise<Response>;

export interface ConsumerOptions {
  topic: string;
  /** Default "default". */
  consumerGroup?: string;
  /** A URL to POST the callback to, or a function that handles it (a simulated function invocation). */
  deliver: Deliver | string;
  /** How long a pushed message stays locked before it is delivered again (default 30,000 ms). */
  visibilityTimeoutMs?: number;
  /** After a failed delivery (non-2xx, or the callback failed), wait this long before delivering again (default 1,000). */
  retryAfterMs?: number;
}

export interface DeliveryRecord {
  topic: string;
  consumerGroup: string;
  messageId: string;
  deliveryCount: number;
  payload: unknown;
  /** HTTP status of the callback, or "crashed" when it failed without answering. */
  status: number | "crashed";
  startedAt: number;
  endedAt: number;
}

export interface QueueService {
  /** Base URL for `WORKFLOW_VERCEL_QUEUE_URL` / `resolveBaseUrl`. */
  readonly url: string;
  readonly token: string;
  subscribe(consumer: ConsumerOptions): () => void;
  /** Every callback made so far. */
  readonly deliveries: readonly DeliveryRecord[];
  /** Messages sent to a topic (acknowledged or not), in order. */
  sent(topic: string): { messageId: string; payload: unknown; acknowledged: boolean }[];
  /** Resolves once no message is waiting, locked or delayed (for `timeoutMs`, default 30 s). */
  idle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

interface Message {
  id: string;
  topic: string;
  body: Buffer;
  contentType: string;
  createdAt: number;
  expiresAt: number;
  visibleAt: number;
}

interface GroupState {
  consumer: Required<Omit<ConsumerOptions, "deliver">> & { deliver: Deliver };
  /** messageId → state in this group. */
  entries: Map<string, { visibleAt: number; deliveryCount: number; receipt?: string; acked: boolean }>;
}

export interface QueueServiceOptions {
  /** Bearer token clients must send (default: a random one; read it from `service.token`). */
  token?: string;
  /** Port (default 0: any free one). */
  port?: number;
}

export async function startQueueService(opts: QueueServiceOptions = {}): Promise<QueueService> {
  const token = opts.token ?? randomUUID();
  const messages = new Map<string, Message>();
  const byTopic = new Map<string, Message[]>();
  const idempotency = new Map<string, string>();
  const groups = new Map<string, GroupState>();
  const deliveries: DeliveryRecord[] = [];
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const idleWaiters = new Set<() => void>();

  const groupKey = (topic: string, group: string) => `${topic}\u0000${group}`;

  function pending(): boolean {
    if (inFlight > 0) return true;
    for (const g of groups.values()) for (const e of g.entries.values()) if (!e.acked) return true;
    return false;
  }

  function pump(): void {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const g of groups.values()) {
      for (const [messageId, entry] of g.entries) {
        if (entry.acked) continue;
        const message = messages.get(messageId)!;
        if (message.expiresAt <= now) {
          entry.acked = true;
          continue;
        }
        if (entry.visibleAt > now) {
          next = Math.min(next, entry.visibleAt);
          continue;
        }
        push(g, message, entry);
        next = Math.min(next, entry.visibleAt);
      }
    }
    if (Number.isFinite(next)) timer = setTimeout(pump, Math.max(1, next - Date.now()));
    if (!pending()) for (const wake of idleWaiters) wake();
  }

  function push(
    g: GroupState,
    message: Message,
    entry: GroupState["entries"] extends Map<string, infer E> ? E : never,
  ) {
    const { consumer } = g;
    entry.deliveryCount++;
    const receipt = randomUUID();
    entry.receipt = receipt;
    entry.visibleAt = Date.now() + consumer.visibilityTimeoutMs;
    const headers = new Headers({
      "ce-type": "com.vercel.queue.v2beta",
      "ce-vqsqueuename": message.topic,
      "ce-vqsconsumergroup": consumer.consumerGroup,
      "ce-vqsmessageid": message.id,
      "ce-vqsreceipthandle": receipt,
      "ce-vqsdeliverycount": String(entry.deliveryCount),
      "ce-vqscreatedat": new Date(message.createdAt).toISOString(),
      "ce-vqsexpiresat": new Date(message.expiresAt).toISOString(),
      "ce-vqsvisibilitydeadline": new Date(entry.visibleAt).toISOString(),
      "content-type": message.contentType,
    });
    const request = new Request(`http://function.invalid/${encodeURIComponent(message.topic)}`, {
      method: "POST",
      headers,
      body: new Uint8Array(message.body),
    });
    const record: DeliveryRecord = {
      topic: message.topic,
      consumerGroup: consumer.consumerGroup,
      messageId: message.id,
      deliveryCount: entry.deliveryCount,
      payload: parsePayload(message),
      status: "crashed",
      startedAt: Date.now(),
      endedAt: 0,
    };
    deliveries.push(record);
    inFlight++;
    const failed = () => {
      // Not acknowledged: comes back after the retry delay, unless the consumer rescheduled it itself.
      if (!entry.acked && entry.receipt === receipt) {
        entry.visibleAt = Math.min(entry.visibleAt, Date.now() + consumer.retryAfterMs);
      }
    };
    consumer
      .deliver(request)
      .then(
        async (response) => {
          record.status = response.status;
          await response.arrayBuffer().catch(() => undefined);
          if (!response.ok) failed();
        },
        () => failed(),
      )
      .finally(() => {
        record.endedAt = Date.now();
        inFlight--;
        pump();
      });
  }

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(error));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://queue.invalid");
    const body = await readBody(req);
    if (req.headers.authorization !== `Bearer ${token}`)
      return reply(res, 401, "missing or wrong bearer token");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    // api v3 topic :topic [consumer :group lease :receipt]
    if (parts[0] !== "api" || parts[1] !== "v3" || parts[2] !== "topic" || !parts[3]) {
      return reply(res, 404, `no such endpoint: ${req.method} ${url.pathname}`);
    }
    const topic = parts[3];
    if (parts.length === 4 && req.method === "POST") {
      const key = header(req, "vqs-idempotency-key");
      // The limits @vercel/queue documents for its send options.
      if (key && key.length > 256)
        return reply(res, 400, "Vqs-Idempotency-Key is longer than 256 characters");
      const known = key ? idempotency.get(`${topic}\u0000${key}`) : undefined;
      if (known) return json(res, 201, { messageId: known });
      const delay = Number(header(req, "vqs-delay-seconds") ?? 0);
      const retention = Number(header(req, "vqs-retention-seconds") ?? 86_400);
      if (!Number.isFinite(delay) || delay < 0) return reply(res, 400, "Vqs-Delay-Seconds must be ≥ 0");
      if (!(retention >= 60 && retention <= 604_800))
        return reply(res, 400, "Vqs-Retention-Seconds must be between 60 and 604800");
      if (delay > retention) return reply(res, 400, "Vqs-Delay-Seconds cannot exceed the retention");
      const now = Date.now();
      const message: Message = {
        id: `msg_${randomUUID()}`,
        topic,
        body,
        contentType: header(req, "content-type") ?? "application/json",
        createdAt: now,
        expiresAt: now + retention * 1000,
        visibleAt: now + delay * 1000,
      };
      messages.set(message.id, message);
      if (key) idempotency.set(`${topic}\u0000${key}`, message.id);
      const list = byTopic.get(topic) ?? [];
      byTopic.set(topic, list);
      list.push(message);
      for (const g of groups.values()) {
        if (g.consumer.topic === topic)
          g.entries.set(message.id, { visibleAt: message.visibleAt, deliveryCount: 0, acked: false });
      }
      json(res, 201, { messageId: message.id });
      pump();
      return;
    }
    if (parts.length === 8 && parts[4] === "consumer" && parts[6] === "lease") {
      const g = groups.get(groupKey(topic, parts[5]!));
      const receipt = parts[7]!;
      const found = g && [...g.entries.values()].find((e) => e.receipt === receipt && !e.acked);
      if (!found)
        return reply(res, 409, "Invalid receipt handle, message not in correct state, or already processed");
      if (req.method === "DELETE") {
        found.acked = true;
        reply(res, 204, "");
        pump();
        return;
      }
      if (req.method === "PATCH") {
        const { visibilityTimeoutSeconds } = JSON.parse(body.toString("utf8") || "{}") as {
          visibilityTimeoutSeconds?: number;
        };
        if (typeof visibilityTimeoutSeconds !== "number" || visibilityTimeoutSeconds < 0) {
          return reply(res, 400, "visibilityTimeoutSeconds must be a number ≥ 0");
        }
        found.visibleAt = Date.now() + visibilityTimeoutSeconds * 1000;
        json(res, 200, { success: true });
        pump();
        return;
      }
    }
    reply(res, 404, `no such endpoint: ${req.method} ${url.pathname}`);
  }

  // Longer than the client's own keep-alive (undici: 4 s), so that the client never reuses a socket this server
  // is closing at that moment (ECONNRESET on a send; a real service's idle timeout is longer too).
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("queue service: no port");
  const url = `http://127.0.0.1:${address.port}`;

  return {
    url,
    token,
    deliveries,
    subscribe(consumer) {
      const consumerGroup = consumer.consumerGroup ?? "default";
      const key = groupKey(consumer.topic, consumerGroup);
      if (groups.has(key)) throw new Error(`queue service: ${key} is already subscribed`);
      const target = consumer.deliver;
      const deliver: Deliver =
        typeof target === "string"
          ? (request) =>
              fetch(target, {
                method: "POST",
                headers: request.headers,
                body: request.body,
                duplex: "half",
              } as RequestInit)
          : target;
      const state: GroupState = {
        consumer: {
          topic: consumer.topic,
          consumerGroup,
          deliver,
          visibilityTimeoutMs: consumer.visibilityTimeoutMs ?? 30_000,
          retryAfterMs: consumer.retryAfterMs ?? 1_000,
        },
        entries: new Map(),
      };
      // A new consumer group starts with the messages its topic holds (as a trigger added before the sends).
      for (const m of byTopic.get(consumer.topic) ?? []) {
        state.entries.set(m.id, { visibleAt: m.visibleAt, deliveryCount: 0, acked: false });
      }
      groups.set(key, state);
      pump();
      return () => {
        groups.delete(key);
      };
    },
    sent(topic) {
      return (byTopic.get(topic) ?? []).map((m) => ({
        messageId: m.id,
        payload: parsePayload(m),
        acknowledged: [...groups.values()].some((g) => g.entries.get(m.id)?.acked === true),
      }));
    },
    idle(timeoutMs = 30_000) {
      if (!pending()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const wake = () => {
          if (pending()) return;
          clearTimeout(t);
          idleWaiters.delete(wake);
          resolve();
        };
        const t = setTimeout(() => {
          idleWaiters.delete(wake);
          reject(new Error(`queue service: still busy after ${timeoutMs} ms`));
        }, timeoutMs);
        idleWaiters.add(wake);
      });
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parsePayload(message: Message): unknown {
  if (!message.contentType.includes("json")) return message.body;
  try {
    return JSON.parse(message.body.toString("utf8"));
  } catch {
    return message.body.toString("utf8");
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain" });
  res.end(text);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}
