/** `resumeHook` and `getHookByToken` of `workflow/api`: application code talking to waiting runs. */
import type { HookRecord } from "@wfkit/world";
import type { Engine } from "../engine/engine.js";
import { checkHookToken } from "../engine/hook-token.js";
import { type ResumeWebhookOptions, resumeWebhookWith } from "../engine/webhooks.js";
import { HookNotFoundError } from "../sandbox/hook-errors.js";
import type { HookInfo } from "../sandbox/metadata.js";
import { deserialize } from "../serialization/index.js";
import { getEngine } from "./runtime-config.js";

export type { HookInfo };

export function hookInfo(record: HookRecord): HookInfo {
  const info: HookInfo = {
    runId: record.runId,
    hookId: record.hookId,
    token: record.token,
    kind: record.kind,
    createdAt: new Date(record.createdAt),
  };
  if (record.metadata !== undefined) info.metadata = deserialize(record.metadata);
  return info;
}

/**
 * Delivers `payload` to the live hook holding `token` (or to the hook `getHookByToken` gave); resolves once it is
 * durable, with the hook's info. Rejects with `HookNotFoundError` when no live hook has that token (unknown,
 * disposed, or its run ended).
 */
export async function resumeHook(
  tokenOrHook: string | { readonly token: string },
  payload: unknown,
  engine: Engine = getEngine(),
): Promise<HookInfo> {
  return hookInfo(await engine.resumeHook(tokenOf(tokenOrHook), payload));
}

function tokenOf(tokenOrHook: unknown): string {
  if (typeof tokenOrHook === "string") return tokenOrHook;
  const token = (tokenOrHook as { token?: unknown } | null | undefined)?.token;
  if (typeof tokenOrHook === "object" && tokenOrHook !== null && typeof token === "string") return token;
  throw new TypeError(
    "resumeHook(tokenOrHook, payload): expects a hook token (string) or a hook object with a `token`, such as " +
      `what getHookByToken() returns; got ${tokenOrHook === null ? "null" : typeof tokenOrHook}.`,
  );
}

/**
 * Answers an HTTP request to `/.well-known/workflow/v1/webhook/<token>`: see `resumeWebhookWith`. Mount it
 * through `createHandlers({ resumeWebhook })` or call it from your own route.
 */
export function resumeWebhook(
  token: string,
  request: Request,
  opts: ResumeWebhookOptions & { engine?: Engine } = {},
): Promise<Response> {
  return resumeWebhookWith(opts.engine ?? getEngine(), token, request, opts);
}

/** The live hook holding `token`; rejects with `HookNotFoundError` when there is none. */
export async function getHookByToken(token: string, engine: Engine = getEngine()): Promise<HookInfo> {
  // A token no hook can have (empty, NUL, too long) is not looked up: some worlds cannot even store it.
  if (!checkHookToken(token)) throw new HookNotFoundError(String(token));
  const record = await (await engine.world()).getHookByToken(token);
  if (!record) throw new HookNotFoundError(token);
  return hookInfo(record);
}
