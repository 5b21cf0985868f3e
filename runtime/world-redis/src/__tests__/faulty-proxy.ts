/**
 * A TCP proxy between a world and Redis that loses things on purpose, to test what a world does when the
 * answer to a write never arrives: `loseAnswer(marker)` forwards the next request containing `marker` and then
 * drops the connection instead of forwarding the server's answer (the write ran, the caller never hears);
 * `loseRequest(marker)` drops the connection instead of forwarding that request (the write never ran).
 */
import { connect, createServer, type Server, type Socket } from "node:net";

type Fault = { marker: string; kind: "answer" | "request" };

export class FaultyProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private fault: Fault | undefined;
  /** How many faults were triggered. */
  triggered = 0;

  private constructor(
    server: Server,
    readonly url: string,
  ) {
    this.server = server;
  }

  static async start(target: string): Promise<FaultyProxy> {
    const { hostname, port } = new URL(target);
    let proxy!: FaultyProxy;
    const server = createServer((client) => proxy.pipe(client, hostname, Number(port)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address() as { port: number };
    proxy = new FaultyProxy(server, `redis://127.0.0.1:${address.port}`);
    return proxy;
  }

  loseAnswer(marker: string): void {
    this.fault = { marker, kind: "answer" };
  }

  loseRequest(marker: string): void {
    this.fault = { marker, kind: "request" };
  }

  private pipe(client: Socket, host: string, port: number): void {
    const upstream = connect(port, host);
    this.sockets.add(client);
    this.sockets.add(upstream);
    let dropNextAnswer = false;
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      const fault = this.fault;
      if (fault && chunk.toString("latin1").includes(fault.marker)) {
        this.fault = undefined;
        this.triggered++;
        if (fault.kind === "request") return drop();
        dropNextAnswer = true;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (dropNextAnswer) return drop();
      client.write(chunk);
    });
    for (const s of [client, upstream]) {
      s.on("error", () => {});
      s.on("close", () => {
        this.sockets.delete(s);
        drop();
      });
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
