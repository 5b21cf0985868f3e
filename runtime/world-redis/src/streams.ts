/**
 * Run output streams (`writeStream`, `readStream`, `subscribeStream`); the keyspace and the atomicity are in
 * scripts/streams.ts. Each write carries a random write ID: a write whose answer was lost is sent again, and the
 * script answers a write ID it has seen with that write's result instead of storing the chunks twice.
 */
import { randomUUID } from "node:crypto";
import { RunNotFoundError, StreamClosedError, type StreamPage, WorldError } from "@wfkit/world";
import type { Redis } from "ioredis";
import { idempotent } from "./connection.js";
import { streamSuffix } from "./keys.js";
import type { Notifications } from "./notifications.js";
import { callScript, type ScriptReply } from "./scripts/index.js";

export class RedisStreams {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
    private readonly notifications: Notifications,
  ) {}

  async write(
    runId: string,
    name: string,
    chunks: readonly string[],
    close: boolean,
  ): Promise<{ nextIndex: number }> {
    for (const chunk of chunks) {
      if (typeof chunk !== "string") {
        throw new WorldError(
          "INVALID_EVENT",
          `Stream chunks must be engine-serialized strings, got ${typeof chunk}.`,
        );
      }
    }
    const writeId = randomUUID();
    const reply = (await idempotent(`a write to stream "${name}" of run ${runId}`, () =>
      callScript(this.client, "wfWriteStream", this.prefix, [
        runId,
        streamSuffix(runId, name),
        name,
        close ? "1" : "0",
        writeId,
        this.notifications.streamMessage(runId, name),
        ...chunks,
      ]),
    )) as ScriptReply[];
    if (reply[0] === "not_found") throw new RunNotFoundError(runId);
    if (reply[0] === "closed") throw new StreamClosedError(runId, name);
    if (chunks.length > 0 || close) this.notifications.streamChanged(runId, name);
    return { nextIndex: Number(reply[1]) };
  }

  async read(
    runId: string,
    name: string,
    opts: { startIndex?: number; limit?: number } = {},
  ): Promise<StreamPage> {
    const start = Math.max(0, Math.floor(opts.startIndex ?? 0));
    const count = opts.limit === undefined ? -1 : Math.max(0, Math.floor(opts.limit));
    const reply = (await idempotent(`a read of stream "${name}" of run ${runId}`, () =>
      callScript(this.client, "wfReadStream", this.prefix, [runId, streamSuffix(runId, name), start, count]),
    )) as ScriptReply[];
    if (reply[0] === 0) throw new RunNotFoundError(runId);
    return {
      chunks: reply.slice(2).map((data, i) => ({ index: start + i, data: data as string })),
      closed: reply[1] === 1,
    };
  }
}
