import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { FatalError } from "../sandbox/errors.js";
import { registerSerializableClass, serialize, serializeError } from "../serialization/index.js";
import { displayTypeOf, hydrateData, hydrateResourceIO, observabilityRevivers } from "./hydrate.js";
import { toJsonValue } from "./json-value.js";
import { parseClassName, parseStepName, parseWorkflowName } from "./names.js";

class Money {
  static deserialized = 0;
  constructor(
    readonly cents: number,
    readonly currency: string,
  ) {}
  static [Symbol.for("workflow-serialize")](m: Money) {
    return { cents: m.cents, currency: m.currency };
  }
  static [Symbol.for("workflow-deserialize")](d: { cents: number; currency: string }) {
    Money.deserialized++;
    return new Money(d.cents, d.currency);
  }
}
registerSerializableClass("class//./src/money//Money", Money);

describe("hydrateData", () => {
  it("gives built-in types back as themselves", () => {
    const value = {
      at: new Date(5),
      m: new Map([["a", 1n]]),
      s: new Set([1]),
      re: /x/g,
      u: new URL("https://e.example/p"),
      b: new Uint8Array([1, 2]),
      n: undefined,
    };
    expect(hydrateData(serialize(value))).toEqual(value);
  });

  it("never runs the app's deserializers: app classes become display objects named after the class", () => {
    Money.deserialized = 0;
    const decoded = hydrateData(serialize({ price: new Money(250, "EUR") })) as { price: unknown };
    expect(Money.deserialized).toBe(0);
    expect(decoded.price).not.toBeInstanceOf(Money);
    expect(displayTypeOf(decoded.price)).toBe("Money");
    expect(decoded.price).toMatchObject({
      cents: 250,
      currency: "EUR",
      classId: "class//./src/money//Money",
    });
    expect(inspect(decoded.price)).toMatch(/^Money \{\s+cents: 250,\s+currency: 'EUR'/);
    expect(toJsonValue(decoded)).toEqual({
      price: { $type: "Money", cents: 250, currency: "EUR", classId: "class//./src/money//Money" },
    });
  });

  it("gives errors back as Errors with their stack, cause, properties and FatalError brand", () => {
    const cause = new RangeError("too big");
    const error = Object.assign(new Error("charge failed", { cause }), { code: "CARD_DECLINED" });
    error.stack = "Error: charge failed\n    at charge (src/order.ts:12:11)";
    const decoded = hydrateData(serializeError(error)) as Error & { code: string; cause: Error };
    expect(decoded).toBeInstanceOf(Error);
    expect(decoded.message).toBe("charge failed");
    expect(decoded.stack).toContain("src/order.ts:12:11");
    expect(decoded.code).toBe("CARD_DECLINED");
    expect(decoded.cause).toBeInstanceOf(RangeError);
    expect(FatalError.is(hydrateData(serializeError(new FatalError("no"))))).toBe(true);
    expect(toJsonValue(decoded)).toMatchObject({
      $type: "Error",
      name: "Error",
      message: "charge failed",
      code: "CARD_DECLINED",
      cause: { $type: "Error", name: "RangeError", message: "too big" },
    });
  });

  it("shows streams, requests, headers and unknown tags as display objects instead of failing", () => {
    const stream = JSON.stringify([
      ["wfkit.stream", 1],
      [2],
      { runId: 3, name: 4, kind: 5 },
      "wrun_1",
      "out",
      "readable",
    ]);
    expect(toJsonValue(hydrateData(stream))).toEqual({
      $type: "ReadableStream",
      name: "out",
      runId: "wrun_1",
    });
    const unknown = JSON.stringify([{ a: 1 }, ["Temporalish.Thing", 2], "x"]);
    expect(toJsonValue(hydrateData(unknown))).toEqual({ a: { $type: "Temporalish.Thing", data: "x" } });
    const headers = hydrateData(serialize(new Headers({ "x-a": "1" })));
    expect(toJsonValue(headers)).toEqual({ $type: "Headers", "x-a": "1" });
  });

  it("reports text that is not a stored value instead of throwing; passes non-strings through", () => {
    expect(toJsonValue(hydrateData("{not json"))).toMatchObject({ $type: "Undecodable", text: "{not json" });
    expect(hydrateData(42)).toBe(42);
  });

  it("accepts a custom reviver map built on observabilityRevivers", () => {
    const stream = JSON.stringify([
      ["wfkit.stream", 1],
      [2],
      { runId: 3, name: 4, kind: 5 },
      "r",
      "n",
      "readable",
    ]);
    expect(hydrateData(stream, { ...observabilityRevivers, "wfkit.stream": () => "<stream>" })).toBe(
      "<stream>",
    );
  });
});

describe("hydrateResourceIO", () => {
  it("decodes a step's input, output and error and an event's data values", () => {
    const step = { stepId: "step_0001", input: serialize({ args: [1] }), output: serialize(new Date(0)) };
    expect(hydrateResourceIO(step)).toEqual({
      stepId: "step_0001",
      input: { args: [1] },
      output: new Date(0),
    });
    const event = { seq: 3, data: { output: serialize([1, 2]), attempt: 2 } };
    expect(hydrateResourceIO(event)).toEqual({ seq: 3, data: { output: [1, 2], attempt: 2 } });
  });
});

describe("toJsonValue", () => {
  it("gives every decoded type one JSON shape", () => {
    const cyclic: Record<string, unknown> = { n: Number.NaN };
    cyclic.self = cyclic;
    expect(
      JSON.parse(
        JSON.stringify(toJsonValue({ cyclic, big: 12n, s: new Set([1]), d: new Date(0), u: undefined })),
      ),
    ).toEqual({
      cyclic: { n: { $type: "Number", value: "NaN" }, self: "[Circular]" },
      big: { $type: "BigInt", value: "12" },
      s: { $type: "Set", values: [1] },
      d: "1970-01-01T00:00:00.000Z",
    });
  });
});

describe("parse*Name", () => {
  it("splits IDs into module and function, as WDK's helpers", () => {
    expect(parseWorkflowName("workflow//./src/workflows/order//processOrder")).toEqual({
      shortName: "processOrder",
      moduleSpecifier: "./src/workflows/order",
      functionName: "processOrder",
    });
    expect(parseStepName("step//src/order.ts//processOrder/chargeCard")?.shortName).toBe("chargeCard");
    expect(parseWorkflowName("workflow//src/flows/signup.ts//default")?.shortName).toBe("signup");
    expect(parseClassName("class//./src/models//User")?.shortName).toBe("User");
    expect(parseStepName("workflow//a//b")).toBeNull();
    expect(parseStepName("step//nofunction")).toBeNull();
  });
});
