/**
 * One dedicated connection per world that LISTENs on the schema's channel. Postgres delivers a NOTIFY
 * only to sessions listening when it commits, so a lost connection loses the notifications of its gap:
 * the listener reconnects with back-off and then calls `onReconnect`, which lets the world re-check what
 * its subscribers wait for. Written here rather than with a LISTEN helper library because it is one
 * client, one statement and a reconnect loop, and the re-check after a gap is ours to decide anyway.
 */
import pg from "pg";

export interface ChannelListenerOptions {
  client: pg.ClientConfig;
  channel: string;
  onMessage(payload: string): void;
  /** Called after the connection came back; notifications during the gap were lost. */
  onReconnect(): void;
  onError(error: unknown): void;
}

const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 2_000;

export class ChannelListener {
  private client: pg.Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoff = MIN_BACKOFF_MS;

  constructor(private readonly options: ChannelListenerOptions) {}

  /** Connects and LISTENs; rejects when the first connection fails. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.options.client);
    let lost = false;
    const onLost = (error?: unknown) => {
      if (lost) return;
      lost = true;
      if (error && !this.closed) this.options.onError(error);
      client.removeAllListeners("notification");
      client.end().catch(() => {});
      if (this.client === client) this.client = undefined;
      this.scheduleReconnect();
    };
    client.on("error", onLost);
    client.on("end", () => onLost());
    client.on("notification", (msg) => {
      if (msg.channel === this.options.channel && msg.payload !== undefined)
        this.options.onMessage(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.options.channel}"`);
    } catch (error) {
      lost = true;
      client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    // Listening alone must not keep the process alive: whoever waits for a notification (a `returnValue`,
    // a worker loop) holds the process open itself, so an app whose runs have ended can exit.
    socketOf(client)?.unref?.();
    this.client = client;
    this.backoff = MIN_BACKOFF_MS;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().then(
        () => {
          if (!this.closed) this.options.onReconnect();
        },
        (error) => {
          if (this.closed) return;
          this.options.onError(error);
          this.scheduleReconnect();
        },
      );
    }, delay);
    this.reconnectTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners("end");
      // The socket was unref'd (listening alone keeps nothing alive); closing must complete, so ref it again.
      socketOf(client)?.ref?.();
      await client.end().catch(() => {});
    }
  }
}

/** The client's TCP socket (pg keeps it on `connection.stream`). */
function socketOf(client: pg.Client): { ref?: () => void; unref?: () => void } | undefined {
  return (client as unknown as { connection?: { stream?: { ref?: () => void; unref?: () => void } } })
    .connection?.stream;
}
