/**
 * Read tokens: what a browser presents to read one run's live streams (state and output). A token is
 * `<base64url payload>.<base64url HMAC-SHA256>` keyed with `WORKFLOW_STREAMS_SECRET`, so any process that
 * shares the secret (another worker, `wf streams serve`, a restarted server) accepts it without storing
 * anything. The payload names the run (or `*`: every run and the runs list, for an operator's page) and an
 * optional expiry.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Environment variable holding the HMAC key of read tokens. */
export const STREAMS_SECRET_ENV = "WORKFLOW_STREAMS_SECRET";

/** Scope of a token that reads every run's streams and the runs list. */
export const ALL_RUNS = "*";

export class MissingStreamsSecretError extends Error {
  readonly code = "MISSING_STREAMS_SECRET";
  constructor() {
    super(
      `Read tokens for run streams are signed with ${STREAMS_SECRET_ENV}, which is not set. Set it to a random ` +
        `string of at least 32 characters (e.g. \`openssl rand -base64 32\`), the same in every process that ` +
        "starts runs or serves /.well-known/workflow/v1/streams, or pass { secret } explicitly.",
    );
    this.name = "MissingStreamsSecretError";
  }
}

export interface ReadTokenOptions {
  /** HMAC key; default `process.env.WORKFLOW_STREAMS_SECRET`. */
  secret?: string;
  /** Seconds until the token stops working; default never. */
  expiresInSeconds?: number;
}

interface Payload {
  /** Run ID, or `*`. */
  r: string;
  /** Expiry, epoch seconds. */
  e?: number;
}

function secretOf(secret: string | undefined): string {
  const key = secret ?? process.env[STREAMS_SECRET_ENV];
  if (!key) throw new MissingStreamsSecretError();
  return key;
}

function sign(body: string, key: string): string {
  return createHmac("sha256", key).update(`wfkit.read-token.v1.${body}`).digest("base64url");
}

/**
 * A token that reads the streams of `runId` only (`"*"`: every run and the runs list). Hand it to the browser
 * (`run.readToken` is the same for a run started here); it grants reading, nothing else.
 */
export function createReadToken(runId: string, options: ReadTokenOptions = {}): string {
  if (typeof runId !== "string" || runId.length === 0) {
    throw new TypeError(`createReadToken(runId): runId must be a non-empty string, got ${String(runId)}.`);
  }
  const payload: Payload = { r: runId };
  if (options.expiresInSeconds !== undefined) {
    if (!(options.expiresInSeconds > 0)) {
      throw new TypeError(
        `createReadToken: expiresInSeconds must be a positive number, got ${options.expiresInSeconds}.`,
      );
    }
    payload.e = Math.floor(Date.now() / 1000 + options.expiresInSeconds);
  }
  const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
  return `${body}.${sign(body, secretOf(options.secret))}`;
}

/** The scope (a run ID or `*`) a valid, unexpired token grants; undefined for anything else. */
export function readTokenScope(token: string, secret?: string): string | undefined {
  const key = secretOf(secret);
  const dot = token.indexOf(".");
  if (dot <= 0 || dot !== token.lastIndexOf(".")) return undefined;
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), "base64url");
  const expected = Buffer.from(sign(body, key), "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let payload: Payload;
  try {
    payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Payload;
  } catch {
    return undefined;
  }
  if (typeof payload.r !== "string") return undefined;
  if (payload.e !== undefined && payload.e * 1000 <= Date.now()) return undefined;
  return payload.r;
}
