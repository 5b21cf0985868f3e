/**
 * `manifest.json`: every workflow and step ID of a build with where it is defined and a hash of its source,
 * so tools can tell which functions changed between two deployments (a changed hash means runs started on
 * the old code may replay differently).
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { FunctionEntry } from "@wfkit/compiler";
import { writeAtomically } from "./bundle.js";
import type { CompiledModule } from "./compile-plugin.js";
import { functionTextFinder } from "./function-source.js";
import { relativePosix } from "./source-files.js";
import { sequenceFingerprint, stepSequence } from "./step-sequence.js";

export interface ManifestEntry {
  /** Local name in its file: `checkout`, `Order#save`, `checkout/notify`. */
  name: string;
  /** Project-relative POSIX path. */
  file: string;
  /** 1-based. */
  line: number;
  /** 0-based. */
  column: number;
  /** First 16 hex digits of the sha256 of the function's source text. */
  hash: string;
}

/** A workflow's entry also records its step sequence (see `step-sequence.ts`) and that sequence's fingerprint. */
export interface WorkflowManifestEntry extends ManifestEntry {
  /** The durable operations the body calls, in source order: step IDs, `sleep`, `createHook`, … */
  stepSequence: string[];
  /** First 16 hex digits of the sha256 of `stepSequence`: changes when runs in flight may stop replaying. */
  fingerprint: string;
}

export interface Manifest {
  version: 1;
  workflows: Record<string, WorkflowManifestEntry>;
  steps: Record<string, ManifestEntry>;
}

export interface CreateManifestOptions {
  projectRoot: string;
  /** What the compiler found per file: `modules` of a bundle result, or your own transform results. */
  modules: CompiledModule[];
}

/** Builds the manifest; IDs are sorted so two builds of the same code give byte-identical files. */
export function createManifest({ projectRoot, modules }: CreateManifestOptions): Manifest {
  const workflows: [string, WorkflowManifestEntry][] = [];
  const steps: [string, ManifestEntry][] = [];
  // Steps callable by name: a nested step (`checkout/notify`) by its own last segment.
  const anyFile = new Map<string, string>();
  for (const mod of modules) for (const st of mod.steps) anyFile.set(localName(st.name), st.id);
  for (const mod of modules) {
    const file = relativePosix(path.resolve(projectRoot), mod.file);
    const textAt = functionTextFinder(mod.source, mod.file);
    const entry = (fn: FunctionEntry): [string, ManifestEntry] => {
      // Unknown extent (should not happen): hash the whole file, which errs towards "changed".
      const text = textAt(fn.loc) ?? mod.source;
      return [
        fn.id,
        { name: fn.name, file, line: fn.loc.line, column: fn.loc.column, hash: contentHash(text) },
      ];
    };
    const callable = new Map(anyFile);
    for (const st of mod.steps) callable.set(localName(st.name), st.id);
    for (const wf of mod.workflows) {
      const [id, base] = entry(wf);
      const sequence = stepSequence(textAt(wf.loc) ?? "", callable);
      workflows.push([id, { ...base, stepSequence: sequence, fingerprint: sequenceFingerprint(sequence) }]);
    }
    steps.push(...mod.steps.map(entry));
  }
  return { version: 1, workflows: sortedRecord(workflows), steps: sortedRecord(steps) };
}

/** Writes `<dir>/manifest.json` (atomically) and returns its path. */
export function writeManifest(dir: string, manifest: Manifest): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "manifest.json");
  writeAtomically(file, `${JSON.stringify(manifest, null, 2)}\n`);
  return file;
}

export function contentHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function localName(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1).replace(/^.*[#.]/, "");
}

function sortedRecord<E extends ManifestEntry>(pairs: [string, E][]): Record<string, E> {
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(pairs);
}
