/**
 * Steps the runtime itself provides, for workflow code: `fetch` from `workflow`, and the body readers behind
 * `.json()`, `.text()` and `.arrayBuffer()` of Requests and Responses that workflow code holds (reading a body
 * is asynchronous host work, so it runs as a step and its result is recorded like any other).
 */
import { STEPS_KEY } from "../sandbox/abi.js";

export const FETCH_STEP = "step//workflow//fetch";
export const READ_BODY_STEP = "step//workflow//readBody";

async function fetchStep(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  return globalThis.fetch(input, init);
}

async function readBodyStep(message: Request | Response, method: "json" | "text" | "arrayBuffer") {
  if (method !== "json" && method !== "text" && method !== "arrayBuffer") {
    throw new TypeError(`Cannot read a body as "${String(method)}"; use json, text or arrayBuffer.`);
  }
  return message[method]();
}
// A body that cannot be parsed will not parse on a retry either.
Object.assign(readBodyStep, { maxRetries: 0 });

const g = globalThis as unknown as Record<symbol, Map<string, unknown> | undefined>;
g[STEPS_KEY] ??= new Map();
if (!g[STEPS_KEY].has(FETCH_STEP)) g[STEPS_KEY].set(FETCH_STEP, fetchStep);
if (!g[STEPS_KEY].has(READ_BODY_STEP)) g[STEPS_KEY].set(READ_BODY_STEP, readBodyStep);
