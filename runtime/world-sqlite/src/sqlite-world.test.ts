import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runWorldConformance } from "@wfkit/world/conformance";
import { createSqliteWorld } from "./sqlite-world.js";

runWorldConformance("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wfkit-sqlite-"));
  const path = join(dir, "workflow.db");
  const open = () => createSqliteWorld({ path });
  return {
    world: await open(),
    reopen: open,
    concurrent: open,
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
