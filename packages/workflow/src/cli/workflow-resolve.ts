/**
 * `wf start <workflow>`: which workflow ID a name means. An ID (`workflow//…`) is used as given. Otherwise the
 * name is looked up in the project's build manifest (`.workflow/manifest.json` from `wf build`, the IDs the
 * deployed code has) and, when there is none, in the project's sources (the files that contain a directive,
 * compiled in client mode to read their IDs). A name must match exactly one workflow: its function name, or the
 * end of its ID (`src/order.ts//order`).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { UsageError } from "./world-options.js";

interface Candidate {
  id: string;
  name: string;
}

export interface Resolved {
  workflowId: string;
  /** Where the ID came from: "id", "manifest" or "sources". */
  via: "id" | "manifest" | "sources";
}

export async function resolveWorkflow(
  nameOrId: string,
  projectRoot: string,
  buildDir = ".workflow",
): Promise<Resolved> {
  if (nameOrId.startsWith("workflow//")) return { workflowId: nameOrId, via: "id" };
  const manifestFile = path.join(projectRoot, buildDir, "manifest.json");
  if (existsSync(manifestFile)) {
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as {
      workflows?: Record<string, { name?: string }>;
    };
    const candidates = Object.entries(manifest.workflows ?? {}).map(([id, e]) => ({
      id,
      name: e.name ?? "",
    }));
    return { workflowId: pick(nameOrId, candidates, `the build manifest ${manifestFile}`), via: "manifest" };
  }
  return {
    workflowId: pick(nameOrId, await scanSources(projectRoot), `the sources under ${projectRoot}`),
    via: "sources",
  };
}

function pick(wanted: string, candidates: Candidate[], where: string): string {
  const matches = candidates.filter(
    (c) => c.name === wanted || c.id.endsWith(`//${wanted}`) || c.id.endsWith(`/${wanted}`),
  );
  if (matches.length === 1) return matches[0]!.id;
  const known = candidates.map((c) => `  ${c.id}`).join("\n");
  if (matches.length === 0) {
    throw new UsageError(
      `no workflow named "${wanted}" in ${where}.${known ? ` Workflows there:\n${known}` : " It defines no workflows."}`,
    );
  }
  throw new UsageError(
    `"${wanted}" names ${matches.length} workflows in ${where}; pass the ID instead:\n${matches.map((c) => `  ${c.id}`).join("\n")}`,
  );
}

async function scanSources(projectRoot: string): Promise<Candidate[]> {
  const [{ discoverDirectiveFiles }, { transform }] = await Promise.all([
    import("@wfkit/builder"),
    import("@wfkit/compiler"),
  ]);
  const files = await discoverDirectiveFiles({ projectRoot, dependencies: false });
  const out: Candidate[] = [];
  for (const file of files) {
    const result = transform(readFileSync(file, "utf8"), { filename: file, projectRoot, mode: "client" });
    for (const wf of result.workflows) out.push({ id: wf.id, name: wf.name });
  }
  return out;
}
