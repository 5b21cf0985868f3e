/**
 * `waitForEvent()` is a hook whose token names what it waits for, so that `emit()` finds every waiting run with one
 * prefix lookup (`listHooksByTokenPrefix`): `wfevent:<name>:*:<run>:<n>` waits for every event of that name,
 * `wfevent:<name>=<key>:<run>:<n>` only for those emitted with that key. Names and keys are URI-encoded, so neither
 * can contain the separators and no prefix of one name is the prefix of another. The token is deterministic (run ID
 * and the run's count of waits) so that a replay creates the same hook.
 */
export const EVENT_TOKEN_PREFIX = "wfevent:";

const enc = (s: string) => encodeURIComponent(s);

/** The prefix of every hook that an event of `name` emitted with `key` reaches (`key` undefined: keyless waits). */
export function eventWaitPrefix(name: string, key: string | undefined): string {
  return `${EVENT_TOKEN_PREFIX}${enc(name)}${key === undefined ? ":*" : `=${enc(key)}`}:`;
}

export function eventWaitToken(name: string, key: string | undefined, runId: string, n: number): string {
  return `${eventWaitPrefix(name, key)}${runId}:${n}`;
}

/** What a name or key of an event must be, or undefined when it is fine. */
export function eventNameProblem(value: unknown, what: string): string | undefined {
  if (typeof value !== "string" || value.length === 0 || value.length > 200 || value.includes("\0")) {
    return `${what} must be a string of 1-200 characters without NUL characters, got ${JSON.stringify(value) ?? String(value)}`;
  }
  return undefined;
}
