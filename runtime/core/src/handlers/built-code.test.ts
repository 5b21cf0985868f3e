import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createBuiltCodeProvider } from "./built-code.js";

const root = mkdtempSync(path.join(tmpdir(), "wfkit-built-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function writeBuild(dir: string, label: string, when: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "workflows.js"), `/* ${label} */`);
  writeFileSync(path.join(dir, "workflows.js.map"), `{"version":3}`);
  writeFileSync(
    path.join(dir, "steps.mjs"),
    `(globalThis[Symbol.for("wfkit.steps")] ??= new Map()).set("step//./t//s", () => ${JSON.stringify(label)});`,
  );
  for (const f of ["workflows.js", "steps.mjs"]) utimesSync(path.join(dir, f), when, when);
}

const registered = () =>
  (globalThis as Record<symbol, Map<string, () => string>>)[Symbol.for("wfkit.steps")]!.get(
    "step//./t//s",
  )!();

describe("createBuiltCodeProvider", () => {
  it("reads the workflow bundle with its map and registers steps from the step bundle", async () => {
    const dir = path.join(root, "a");
    writeBuild(dir, "one", 1000);
    const code = createBuiltCodeProvider({ dir });
    const bundle = await code.getWorkflowBundle("workflow//./t//w");
    expect(bundle).toMatchObject({ code: "/* one */", filename: path.join(dir, "workflows.js") });
    expect(bundle.sourceMap).toBe(`{"version":3}`);
    await code.loadStep("step//./t//s");
    expect(registered()).toBe("one");
  });

  it("with watch, picks up a rebuilt output on the next request", async () => {
    const dir = path.join(root, "b");
    writeBuild(dir, "first", 1000);
    const code = createBuiltCodeProvider({ dir, watch: true });
    await code.loadStep("step//./t//s");
    expect((await code.getWorkflowBundle("w")).code).toBe("/* first */");
    writeBuild(dir, "second!", 2000);
    expect((await code.getWorkflowBundle("w")).code).toBe("/* second! */");
    await code.loadStep("step//./t//s");
    expect(registered()).toBe("second!");
  });

  it("explains how to produce the build when it is missing", async () => {
    const code = createBuiltCodeProvider({ dir: path.join(root, "none") });
    await expect(code.getWorkflowBundle("w")).rejects.toThrow(/Run `wf build`/);
  });
});
