import { LATEST_VERSION, MIGRATIONS } from "@wfkit/world-postgres";
import { getTestDatabase } from "@wfkit/world-postgres/testing";
import { describe, expect, it } from "vitest";
import { runWf } from "./__tests__/run-wf.js";

describe("wf postgres migrate", () => {
  it("migrates a schema, then reports that there is nothing to do", async () => {
    const db = await getTestDatabase();
    try {
      const first = await runWf(["postgres", "migrate", "--url", db.url, "--schema", db.schema]);
      expect(first).toMatchObject({ exitCode: 0, stderr: "" });
      expect(first.stdout).toMatch(
        new RegExp(
          `Applied migrations? ${MIGRATIONS.map((m) => m.version).join(", ")} to schema "${db.schema}"; ` +
            `it is now at version ${LATEST_VERSION}`,
        ),
      );
      const again = await runWf(["postgres", "migrate", "--url", db.url, "--schema", db.schema]);
      expect(again.stdout).toMatch(new RegExp(`already at version ${LATEST_VERSION}; nothing to do`));
    } finally {
      await db.cleanup();
    }
  });

  it("explains a missing URL and a bad schema name with exit code 1", async () => {
    const saved = process.env.WORKFLOW_POSTGRES_URL;
    delete process.env.WORKFLOW_POSTGRES_URL;
    try {
      const missing = await runWf(["postgres", "migrate"]);
      expect(missing.exitCode).toBe(1);
      expect(missing.stderr).toMatch(/--url .*WORKFLOW_POSTGRES_URL/);
    } finally {
      if (saved !== undefined) process.env.WORKFLOW_POSTGRES_URL = saved;
    }
    const bad = await runWf([
      "postgres",
      "migrate",
      "--url",
      "postgres://u:secret@127.0.0.1:1/x",
      "--schema",
      "Bad-Name",
    ]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/schema name "Bad-Name" is not allowed/);
  });
});
