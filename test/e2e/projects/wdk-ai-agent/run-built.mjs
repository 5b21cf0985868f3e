// Plain `node run-built.mjs <question>` after `wf build`: the runtime loads only the built bundles (no compiler, no
// register hook), and the workflow is started by its ID from the manifest.
import { readFileSync } from "node:fs";
import "./.workflow/handlers.mjs";
import { start } from "workflow/api";

const manifest = JSON.parse(readFileSync(".workflow/manifest.json", "utf8"));
const id = Object.keys(manifest.workflows).find((w) => w.endsWith("//weatherAgent"));
const run = await start(id, [process.argv[2]]);
const value = await run.returnValue;
const chunks = [];
for await (const chunk of run.getReadable()) chunks.push(chunk);
console.log(`RESULT ${JSON.stringify({ value, status: await run.status, chunks })}`);
process.exit(0);
