import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveWorkflow } from "./workflow-resolve.js";

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "wf-resolve-"));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

const flow = (name: string) => `export async function ${name}() {\n  "use workflow";\n  return 1;\n}\n`;

describe("resolveWorkflow (wf start)", () => {
  it("uses an ID as given", async () => {
    expect(await resolveWorkflow("workflow//x//y", "/nowhere")).toEqual({
      workflowId: "workflow//x//y",
      via: "id",
    });
  });

  it("finds a name in the build manifest when there is one", async () => {
    const dir = project({
      ".workflow/manifest.json": JSON.stringify({
        version: 1,
        workflows: {
          "workflow//src/order.ts//order": { name: "order" },
          "workflow//src/ship.ts//ship": { name: "ship" },
        },
        steps: {},
      }),
    });
    expect(await resolveWorkflow("order", dir)).toEqual({
      workflowId: "workflow//src/order.ts//order",
      via: "manifest",
    });
  });

  it("otherwise scans the sources; an unknown or ambiguous name lists the workflows", async () => {
    const dir = project({
      "package.json": "{}",
      "src/a.ts": flow("signup") + flow("order"),
      "src/b.ts": flow("order"),
    });
    const found = await resolveWorkflow("signup", dir);
    expect(found.via).toBe("sources");
    expect(found.workflowId).toBe("workflow//src/a.ts//signup");
    await expect(resolveWorkflow("order", dir)).rejects.toThrow(
      /"order" names 2 workflows .*pass the ID instead/s,
    );
    await expect(resolveWorkflow("nope", dir)).rejects.toThrow(
      /no workflow named "nope" .*Workflows there:/s,
    );
  });
});
