import { describe, expect, it } from "vitest";
import { sequenceFingerprint, stepSequence } from "./step-sequence.js";

const steps = new Map([
  ["reserve", "step//./src/order//reserve"],
  ["charge", "step//./src/billing//charge"],
  ["notify", "step//./src/order//checkout/notify"],
]);

const workflow = (body: string) => `async function checkout(id: string) {\n  "use workflow";\n${body}\n}`;

describe("stepSequence", () => {
  it("lists step calls and runtime operations in source order", () => {
    const text = workflow(`
      const r = await reserve(id);
      await sleep("1h");
      const hook = createHook<{ ok: boolean }>({ token: id });
      await Promise.all([charge(r), notify(r)]);
      return r;`);
    expect(stepSequence(text, steps)).toEqual([
      "step//./src/order//reserve",
      "sleep",
      "createHook",
      "step//./src/billing//charge",
      "step//./src/order//checkout/notify",
    ]);
  });

  it("ignores comments, strings, methods of other objects and the workflow's own name", () => {
    const text = workflow(`
      // reserve(id) used to come first
      console.log("charge(later)", \`notify(\${id})\`);
      const x = cart.reserve(id);
      return charge(x);`);
    expect(stepSequence(text, steps)).toEqual(["step//./src/billing//charge"]);
  });

  it("keeps the fingerprint when only code between operations changes, and changes it otherwise", () => {
    const before = stepSequence(workflow("const r = await reserve(id);\n await charge(r);"), steps);
    const logged = stepSequence(
      workflow('const r = await reserve(id);\n console.log(r);\n await charge(r + "!");'),
      steps,
    );
    const swapped = stepSequence(workflow("await charge(id);\n await reserve(id);"), steps);
    expect(sequenceFingerprint(logged)).toBe(sequenceFingerprint(before));
    expect(sequenceFingerprint(swapped)).not.toBe(sequenceFingerprint(before));
    expect(sequenceFingerprint(before)).toMatch(/^[0-9a-f]{16}$/);
  });
});
