/**
 * `node --import workflow/register src/run.ts <workflow> [json-args]`: starts one workflow and prints
 * `RUN <id>`, then `RESULT <json>` with its return value or error.
 */

import { Socket } from "node:net";
import { isDeepStrictEqual } from "node:util";
import { getRun, start } from "workflow/api";
import * as workflows from "./workflows.js";

const [name, argsJson, mode] = process.argv.slice(2);
if (name === "await") {
  await report(getRun(argsJson!));
} else if (name === "types") {
  await roundTripEveryType();
} else if (name === "hostIntact") {
  await hostIntact();
} else if (name === "unserializable") {
  try {
    await start(workflows.roundTrip, [{ user: { name: "ada", socket: new Socket() } }]);
    console.log(`RESULT ${JSON.stringify({ ok: true })}`);
  } catch (error) {
    console.log(
      `RESULT ${JSON.stringify({ ok: false, name: (error as Error).name, message: (error as Error).message })}`,
    );
  }
} else {
  const fn = (workflows as Record<string, unknown>)[name!];
  if (typeof fn !== "function") throw new Error(`unknown workflow ${name}`);
  const args = argsJson ? (JSON.parse(argsJson) as unknown[]) : [];
  const run = await start(fn as (...a: unknown[]) => Promise<unknown>, args);
  console.log(`RUN ${run.runId}`);
  if (mode !== "detach") await report(run);
}

async function report(run: { returnValue: Promise<unknown>; status: Promise<string> }): Promise<void> {
  try {
    const value = await run.returnValue;
    console.log(`RESULT ${JSON.stringify({ ok: true, value, status: await run.status })}`);
  } catch (error) {
    const e = error as Error & { cause?: Error & { code?: string } };
    console.log(
      `RESULT ${JSON.stringify({
        ok: false,
        name: e.name,
        message: e.message,
        cause: e.cause && {
          name: e.cause.name,
          message: e.cause.message,
          code: e.cause.code,
          stack: e.cause.stack,
        },
        status: await run.status,
      })}`,
    );
  }
}

/** Sends one value of every serializable type through a step and back, and compares each. */
async function roundTripEveryType(): Promise<void> {
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const cause = new TypeError("inner");
  const error = Object.assign(new RangeError("outer", { cause }), { code: "E_OUTER" });
  const value = {
    date: new Date("2024-02-29T12:34:56.789Z"),
    map: new Map<unknown, unknown>([
      ["a", 1],
      [2, { b: [3] }],
    ]),
    set: new Set([1, "two", 3n]),
    regexp: /wor(k)flow/gi,
    bigint: 12345678901234567890n,
    url: new URL("https://example.com/a?b=c#d"),
    params: new URLSearchParams("x=1&x=2&y=3"),
    uint8: new Uint8Array([1, 2, 255]),
    int32: new Int32Array([-1, 2 ** 31 - 1]),
    float64: new Float64Array([Math.PI, -0]),
    buffer: new Uint8Array([9, 8, 7]).buffer,
    nested: { list: [undefined, null, Number.NaN, -0, Infinity, "s"], deep: { ok: true } },
    cyclic,
  };
  const headers = new Headers({ "content-type": "application/json", "x-trace": "abc" });
  const run = await start(workflows.roundTrip, [{ ...value, headers, error }]);
  const back = (await run.returnValue) as typeof value & {
    headers: Headers;
    error: RangeError & { code: string };
  };
  const same: Record<string, boolean> = {};
  for (const key of Object.keys(value) as (keyof typeof value)[]) {
    same[key] =
      key === "cyclic" ? back.cyclic.self === back.cyclic : isDeepStrictEqual(back[key], value[key]);
  }
  same.headers = isDeepStrictEqual([...back.headers.entries()], [...headers.entries()]);
  same.error =
    back.error instanceof RangeError &&
    back.error.message === "outer" &&
    back.error.code === "E_OUTER" &&
    (back.error.cause as Error).name === "TypeError" &&
    (back.error.cause as Error).message === "inner";
  console.log(`RESULT ${JSON.stringify({ ok: true, same })}`);
}

/**
 * A start argument whose keys are inherited names round-trips, and afterwards the application's own code still
 * assigns such members (the sandbox must not have frozen this process's intrinsics).
 */
async function hostIntact(): Promise<void> {
  const input = { constructor: 1, toString: "x", valueOf: [2] };
  const run = await start(workflows.roundTrip, [input]);
  let back: unknown;
  let failure: string | undefined;
  try {
    back = await run.returnValue;
  } catch (error) {
    failure = String(error);
  }
  const own: Record<string, unknown> = {};
  let assigned: string;
  try {
    own.toString = () => "assigned by the app";
    assigned = String(own);
  } catch (error) {
    assigned = `threw ${String(error)}`;
  }
  console.log(
    `RESULT ${JSON.stringify({
      ok: failure === undefined,
      failure,
      keys: back === undefined ? null : Reflect.ownKeys(back as object),
      same: isDeepStrictEqual(back, input),
      ownProto: back !== undefined && Object.getPrototypeOf(back) === Object.prototype,
      assigned,
      frozen: Object.isFrozen(Object.prototype) || Object.isFrozen(Function.prototype),
    })}`,
  );
}
