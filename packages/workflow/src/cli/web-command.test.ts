import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { recordingIo, runWf } from "./__tests__/run-wf.js";
import { serveDashboard } from "./web-command.js";

describe("wf web", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "wf-web-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("refuses a bad port or base path with the fix in the message", async () => {
    const badPort = await runWf(["web", "--port", "http", "--data-dir", dataDir]);
    expect(badPort.exitCode).toBe(1);
    expect(badPort.stderr).toBe('wf web: --port must be a port number from 0 to 65535, got "http".\n');
    const badBase = await runWf(["web", "--port", "0", "--base-path", "wf", "--data-dir", dataDir]);
    expect(badBase.exitCode).toBe(1);
    expect(badBase.stderr).toMatch(/"wf" must start with "\/"/);
  });

  it("serves the dashboard on 127.0.0.1 under its base path, read-only when asked, and stops", async () => {
    const { io } = recordingIo(dataDir);
    const served = await serveDashboard(
      { port: "0", host: "127.0.0.1", basePath: "/wf", readOnly: true, world: "local", dataDir },
      io,
    );
    try {
      expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/wf\/$/);
      expect(served.world).toBe("local");
      const page = await fetch(served.url);
      expect(await page.text()).toContain('src="/wf/assets/app.js"');
      expect(await (await fetch(`${served.url}api/config`)).json()).toMatchObject({
        readOnly: true,
        world: "local",
      });
      const refused = await fetch(`${served.url}api/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ workflowName: "workflow//./x//x" }),
      });
      expect(refused.status).toBe(403);
    } finally {
      await served.close();
    }
    await expect(fetch(served.url)).rejects.toThrow();
  });
});
