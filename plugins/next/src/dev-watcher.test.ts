import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { watchForRebuilds } from "./dev-watcher.js";
import { nextRuntimeState } from "./next-runtime.js";

const root = mkdtempSync(path.join(tmpdir(), "wfkit-next-watch-"));
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers) await close();
  rmSync(root, { recursive: true, force: true });
});

describe("the next dev rebuild watcher", () => {
  it("rebuilds when an input changes or a new directive file appears, and publishes the rebuild", async () => {
    const input = path.join(root, "workflows/a.ts");
    mkdirSync(path.dirname(input), { recursive: true });
    mkdirSync(path.join(root, ".workflow"));
    writeFileSync(input, '"use step";\nexport async function a() {}\n');
    const builds: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const watcher = watchForRebuilds({
      projectRoot: root,
      outDir: path.join(root, ".workflow"),
      inputs: [input],
      async build() {
        await gate;
        const inputs = [input, path.join(root, "workflows/b.ts")];
        builds.push(inputs);
        return { inputs };
      },
    });
    closers.push(watcher.close);
    await watcher.ready;

    // Output, data and unrelated files never trigger a build.
    writeFileSync(path.join(root, ".workflow/steps.mjs"), "export {};\n");
    writeFileSync(path.join(root, "notes.ts"), "export const n = 1;\n");
    writeFileSync(input, '"use step";\nexport async function a() { return 1; }\n');
    // (A promise returned to expect.poll would be awaited, so poll a boolean.)
    await expect.poll(() => nextRuntimeState().rebuilding !== undefined, { timeout: 10_000 }).toBe(true);
    const pending = nextRuntimeState().rebuilding!;
    let settled = false;
    void pending.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false); // the runtime's code provider waits on this
    release();
    await pending;
    expect(builds).toHaveLength(1);

    writeFileSync(path.join(root, "workflows/b.ts"), 'export async function b() {\n  "use workflow";\n}\n');
    await expect.poll(() => builds.length, { timeout: 10_000 }).toBe(2);

    // An existing file that is not an input and gains a misspelled directive is built, so it is reported.
    writeFileSync(path.join(root, "notes.ts"), 'export async function n() {\n  "use workfow";\n}\n');
    await expect.poll(() => builds.length, { timeout: 10_000 }).toBe(3);
  });
});
