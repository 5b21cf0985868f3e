/**
 * `wf streams read <runId> [--namespace] [--from N] [--follow]`: a run's output stream, decoded chunk by chunk
 * (`hydrateData`: no app code runs). Text chunks are printed as they are, bytes as UTF-8, other values as one JSON
 * line each; `--json` prints every chunk as `{ index, data }` lines.
 */
import {
  createRouter,
  createStreamsHandler,
  hydrateData,
  STREAMS_SECRET_ENV,
  TERMINAL_RUN_STATUSES,
  WORKFLOW_BASE_PATH,
  type World,
} from "@wfkit/core";
import type { Command } from "commander";
import { json } from "./format.js";
import type { CliIo } from "./io.js";
import { parsePort, type ServedWorld, serveUntilStopped, serveWorld } from "./serve-world.js";
import {
  addWorldOptions,
  openWorld,
  UsageError,
  type WorldFlags,
  withWorld,
  worldEnv,
} from "./world-options.js";

export interface ServeFlags extends WorldFlags {
  port: string;
  host: string;
  auth: boolean;
}

interface StreamFlags extends WorldFlags {
  namespace: string;
  from: string;
  follow?: boolean;
  json?: boolean;
}

/** A followed stream that is never closed ends once its run has ended and it stayed silent this long. */
const QUIET_AFTER_END_MS = 2_000;
/** Re-read this often while following, in case a notification from another process is lost. */
const POLL_MS = 1_000;

export function addStreamsCommand(program: Command, io: CliIo): void {
  const streams = program.command("streams").description("read a run's output streams");
  addWorldOptions(
    streams
      .command("read")
      .description("print a run's stream (from chunk N; --follow waits for more until it closes)")
      .argument("<runId>")
      .option("--namespace <name>", "the stream (getWritable({ namespace }))", "default")
      .option("--from <n>", "first chunk index", "0")
      .option("--follow", "keep printing new chunks until the stream closes (or the run ends)")
      .option("--json", "print { index, data } JSON lines"),
  ).action(async (runId: string, flags: StreamFlags) =>
    withWorld("streams read", flags, io, async ({ world }) => {
      const from = Number(flags.from);
      if (!Number.isInteger(from) || from < 0)
        throw new UsageError(`--from must be a chunk index ≥ 0, got "${flags.from}".`);
      if (!world.readStream) throw new UsageError(`the ${world.name} world has no streams.`);
      const run = await world.getRun(runId);
      if (!run)
        throw new UsageError(`no run ${runId} in the ${world.name} world. List runs with: wf inspect runs`);
      await readStream(world, runId, flags.namespace, from, !!flags.follow, (index, data) => {
        const value = hydrateData(data);
        if (flags.json) io.out(`${json({ index, data: value }).replace(/\n\s*/g, " ").trimEnd()}\n`);
        else if (typeof value === "string") io.out(value);
        else if (value instanceof Uint8Array) io.out(Buffer.from(value).toString("utf8"));
        else io.out(`${json(value).replace(/\n\s*/g, " ").trimEnd()}\n`);
      });
    }),
  );
  addWorldOptions(
    streams
      .command("serve")
      .description(
        "serve the world's runs as Durable Streams (state, output, runs list) at /.well-known/workflow/v1/streams/",
      )
      .option("--port <port>", "port to listen on (0 picks a free one)", "3457")
      .option("--host <host>", "address to listen on", "127.0.0.1")
      .option("--no-auth", "serve every stream without a read token (a trusted network only)"),
  ).action((flags: ServeFlags) =>
    serveUntilStopped(
      "streams serve",
      flags,
      io,
      () => serveStreams(flags, io),
      (served) =>
        `Streams of the ${served.world} world: ${served.url}\n` +
        `${flags.auth ? "Read tokens required." : "No read tokens required (--no-auth)."} Press Ctrl-C to stop.\n`,
    ),
  );
}

/** Opens the world and serves its streams; `url` is the runs list's; `close()` stops the server and the world. */
export async function serveStreams(flags: ServeFlags, io: CliIo): Promise<ServedWorld> {
  const port = parsePort(flags.port);
  const env = worldEnv(flags, io);
  const secret = env[STREAMS_SECRET_ENV];
  if (flags.auth && !secret) {
    throw new UsageError(
      `set ${STREAMS_SECRET_ENV} (the secret the app signs run.readToken with), or pass --no-auth on a trusted network.`,
    );
  }
  const opened = await openWorld(flags, io, { create: true });
  return serveWorld(opened, flags.host, port, `${WORKFLOW_BASE_PATH}/streams/runs`, () => {
    const streamsHandler = createStreamsHandler({
      world: opened.world,
      ...(secret ? { secret } : {}),
      ...(flags.auth ? {} : { authorize: () => true }),
    });
    const notHere = async () => new Response("wf streams serve serves only streams/", { status: 404 });
    return createRouter({
      flow: notHere,
      step: notHere,
      webhook: notHere,
      streams: (request) => streamsHandler(request),
    });
  });
}

async function readStream(
  world: World,
  runId: string,
  name: string,
  from: number,
  follow: boolean,
  emit: (index: number, data: string) => void,
): Promise<void> {
  let next = from;
  let wake: (() => void) | undefined;
  const unsubscribe = follow ? world.subscribeStream?.(runId, name, () => wake?.()) : undefined;
  let lastNews = Date.now();
  try {
    for (;;) {
      const page = await world.readStream!(runId, name, { startIndex: next });
      for (const chunk of page.chunks) {
        emit(chunk.index, chunk.data);
        next = chunk.index + 1;
      }
      if (page.chunks.length > 0) lastNews = Date.now();
      if (page.closed || !follow) return;
      const status = (await world.getRun(runId))?.status;
      if (status && TERMINAL_RUN_STATUSES.includes(status) && Date.now() - lastNews >= QUIET_AFTER_END_MS)
        return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    unsubscribe?.();
  }
}
