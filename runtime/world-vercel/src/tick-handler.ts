/**
 * The tick function: what the heartbeat cron job (`crons` in `.vercel/output/config.json`) calls at `TICK_PATH`.
 * Each call is one heartbeat (ticks.ts): due ticks, the ticks armed until the next call, the flow gates' sweep.
 */
import { Engine } from "@wfkit/core";
import { heartbeat } from "./ticks.js";
import { createVercelWorld, type VercelWorld, type VercelWorldOptions } from "./vercel-world.js";

export interface TickHandlerOptions {
  /** The world (default: `createVercelWorld()` from the environment, opened on the first call). */
  world?: VercelWorld;
  worldOptions?: VercelWorldOptions;
  /**
   * What the caller must send as `Authorization: Bearer <secret>` (default `CRON_SECRET`, which Vercel sends to its
   * cron jobs when the project defines it). Without one any caller may trigger a heartbeat: harmless (it only does
   * what is due), but a public deployment should set `CRON_SECRET`.
   */
  secret?: string;
}

export function createTickHandler(opts: TickHandlerOptions = {}): (request: Request) => Promise<Response> {
  let world: Promise<VercelWorld> | undefined;
  let engine: Engine | undefined;
  return async (request) => {
    const secret = opts.secret ?? process.env.CRON_SECRET;
    if (secret && request.headers.get("authorization") !== `Bearer ${secret}`) {
      return Response.json(
        {
          error: "the tick function answers its cron job only: Authorization: Bearer <CRON_SECRET> expected",
        },
        { status: 401 },
      );
    }
    if (request.method !== "GET" && request.method !== "POST") {
      return Response.json({ error: `${request.method} is not allowed here: GET or POST` }, { status: 405 });
    }
    world ??= opts.world ? Promise.resolve(opts.world) : createVercelWorld(opts.worldOptions);
    const w = await world;
    engine ??= new Engine({ world: w, executeRuns: false, sweepIntervalMs: false });
    const result = await heartbeat(engine, w, w.send);
    // A schedule whose tick failed is named in the answer and the function's log (cron jobs are not retried).
    return Response.json(result, { status: result.errors.length > 0 ? 500 : 200 });
  };
}
