/**
 * The Vercel world: storage on Postgres (the Postgres world, its schema and migrations unchanged), dispatch
 * through Vercel Queues. Whatever needs an executor sends a message `{ runId }` to the flow topic with
 * `@vercel/queue`'s `send`: a new run, a hook payload recorded from outside, an operator's change (cancel, pause,
 * resume, retry), a wake-up (a delayed message). Vercel invokes the flow function once per message; each
 * invocation drives the run for at most its budget (`runInvocation`) and hands off through the same topic.
 */
import { QueueClient } from "@vercel/queue";
import {
  type AppendOptions,
  type NewEvent,
  type ScheduleAndEventMethods,
  schedulesOf,
  type World,
} from "@wfkit/world";
import { createPostgresWorld, type PostgresWorldOptions } from "@wfkit/world-postgres";
import { armHorizonMs, armTicks, delayOptions, type SendFlowMessage } from "./ticks.js";

/** The topic the flow function consumes (its queue trigger in `.vc-config.json`). */
export const FLOW_TOPIC = "wfkit_flow";

/** A flow message: drive this run. */
export interface RunMessage {
  runId: string;
}

export interface VercelQueueOptions {
  /**
   * Base URL of the queue service; default `WORKFLOW_VERCEL_QUEUE_URL`, else the service of the region
   * (`https://<region>.vercel-queue.com`, what `@vercel/queue` uses on Vercel).
   */
  url?: string;
  /** Bearer token; default `WORKFLOW_VERCEL_QUEUE_TOKEN`, else the function's OIDC token (on Vercel). */
  token?: string;
  /** Default `VERCEL_REGION`, else "iad1". */
  region?: string;
  /** Default `FLOW_TOPIC`. */
  topic?: string;
  /** A client configured elsewhere (then url, token and region are ignored). */
  client?: QueueClient;
}

export interface VercelWorldOptions {
  /** The Postgres storage: options for `createPostgresWorld` (default: from `WORKFLOW_POSTGRES_*`), or a world. */
  storage?: PostgresWorldOptions | World;
  queue?: VercelQueueOptions;
  env?: Record<string, string | undefined>;
}

export interface VercelWorld extends World {
  readonly name: "vercel";
  /** The Postgres world underneath. */
  readonly storage: World;
  readonly topic: string;
  readonly queue: QueueClient;
  /** Sends the run's next flow message, after `delayMs` (rounded up to whole seconds, the queue's unit). */
  enqueueRun(runId: string, delayMs?: number, idempotencyKey?: string): Promise<void>;
  /** Sends any flow message (a run's, a schedule tick's). */
  send: SendFlowMessage;
}

export function queueClientFrom(
  opts: VercelQueueOptions = {},
  env: Record<string, string | undefined> = process.env,
): QueueClient {
  if (opts.client) return opts.client;
  const url = opts.url ?? env.WORKFLOW_VERCEL_QUEUE_URL;
  const token = opts.token ?? env.WORKFLOW_VERCEL_QUEUE_TOKEN;
  if (url !== undefined && !/^https?:$/.test(URL.parse(url)?.protocol ?? "")) {
    throw new TypeError(
      `WORKFLOW_VERCEL_QUEUE_URL must be an absolute URL of a queue service (http://127.0.0.1:4100), got "${url}".`,
    );
  }
  return new QueueClient({
    region: opts.region ?? env.VERCEL_REGION ?? "iad1",
    ...(token ? { token } : {}),
    ...(url
      ? {
          resolveBaseUrl: () => new URL(url),
          // Off Vercel there is no deployment to pin messages to.
          deploymentId: env.VERCEL_DEPLOYMENT_ID ?? null,
        }
      : {}),
  });
}

/** Events an executor appends under the run's lease; an append without it comes from outside (an operator). */
function fromOutside(opts: AppendOptions | undefined): boolean {
  return opts?.lease === undefined;
}

export async function createVercelWorld(opts: VercelWorldOptions = {}): Promise<VercelWorld> {
  const env = opts.env ?? process.env;
  const queue = queueClientFrom(opts.queue, env);
  const topic = opts.queue?.topic ?? FLOW_TOPIC;
  const storage: World =
    opts.storage && "createRun" in opts.storage
      ? opts.storage
      : await createPostgresWorld({
          ...(env.WORKFLOW_POSTGRES_URL ? { url: env.WORKFLOW_POSTGRES_URL } : {}),
          ...(env.WORKFLOW_POSTGRES_SCHEMA ? { schema: env.WORKFLOW_POSTGRES_SCHEMA } : {}),
          ...(opts.storage as PostgresWorldOptions | undefined),
        });

  const send: SendFlowMessage = async (payload, { delayMs = 0, idempotencyKey } = {}) => {
    await queue.send(topic, payload, {
      ...delayOptions(delayMs),
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
  };
  const enqueueRun = (runId: string, delayMs = 0, idempotencyKey?: string): Promise<void> =>
    send({ runId } satisfies RunMessage, { delayMs, ...(idempotencyKey ? { idempotencyKey } : {}) });
  // [schedules] No process keeps time here: a schedule's ticks are delayed messages, armed when it is created or
  // resumed and by every heartbeat (ticks.ts).
  const armed = async <T extends { name: string } | undefined>(record: T): Promise<T> => {
    if (record) {
      const current = await schedulesOf(storage)?.getSchedule(record.name);
      if (current) await armTicks(send, current, Date.now(), armHorizonMs(env));
    }
    return record;
  };
  const schedules = schedulesOf(storage);

  const overrides: Partial<VercelWorld> & Partial<ScheduleAndEventMethods> = {
    name: "vercel",
    storage,
    topic,
    queue,
    enqueueRun,
    send,
    ...(schedules
      ? {
          putSchedule: async (def, now) => armed(await schedules.putSchedule(def, now)),
          setSchedulePaused: async (name, paused) => {
            const record = await schedules.setSchedulePaused(name, paused);
            return paused ? record : armed(record);
          },
        }
      : {}),
    async createRun(input) {
      const result = await storage.createRun(input);
      // The lease a caller takes with the run is its own business; the flow function drives it either way.
      await enqueueRun(result.run.runId, 0, `${result.run.runId}:created`);
      return result;
    },
    async deliver(runId, delivery) {
      const result = await storage.deliver(runId, delivery);
      if (!result.duplicate) await enqueueRun(runId, 0, `${runId}:delivery:${delivery.deliveryId}`);
      return result;
    },
    async append(runId: string, expectedSeq: number, events: NewEvent[], appendOpts?: AppendOptions) {
      const result = await storage.append(runId, expectedSeq, events, appendOpts);
      // Cancel, pause, resume, retry, a stopped sleep: the run may have work again. (A finished run's message is
      // acknowledged by an invocation that finds it ended.)
      if (fromOutside(appendOpts)) await enqueueRun(runId, 0);
      return result;
    },
  };
  return new Proxy(storage, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof VercelWorld];
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as VercelWorld;
}
