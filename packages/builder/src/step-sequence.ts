/**
 * A workflow's step sequence as its source states it: the durable operations its body calls, in the order they
 * appear (steps by ID, and `sleep`, `createHook`, `createWebhook`, `start`, `fetch`, `waitForEvent`). Runs replay
 * by matching the operations they recorded, in order, so when this sequence changes, runs in flight may no longer
 * replay; when only other code changes (a log line, a computation between steps), they still do. The fingerprint
 * is a hash of the sequence, recorded in the manifest for `wf build` to compare with the previous build.
 *
 * Read from the source text, not executed: a step called through an alias or a variable is not seen, and a loop
 * counts once. It is a warning aid; `wf verify` gives the exact answer for each run.
 */
import { createHash } from "node:crypto";

const RUNTIME_OPERATIONS = new Set([
  "sleep",
  "createHook",
  "createWebhook",
  "start",
  "fetch",
  "waitForEvent",
]);

/**
 * `stepIds`: local name → step ID, for the steps the workflow can call by name (its own file's first, so a name
 * defined there wins over another file's step of the same name).
 */
export function stepSequence(workflowText: string, stepIds: ReadonlyMap<string, string>): string[] {
  const code = stripCommentsAndStrings(workflowText);
  // Skip the function's own head (`async function name(`), so the workflow is not a call of itself.
  const body = code.slice(Math.max(0, code.indexOf("{")));
  const sequence: string[] = [];
  for (const match of body.matchAll(/(?<![\w$.])([A-Za-z_$][\w$]*)\s*(?:<[^<>()]*>)?\s*\(/g)) {
    const name = match[1]!;
    const id = stepIds.get(name);
    if (id) sequence.push(id);
    else if (RUNTIME_OPERATIONS.has(name)) sequence.push(name);
  }
  return sequence;
}

export function sequenceFingerprint(sequence: readonly string[]): string {
  return createHash("sha256").update(sequence.join("\n")).digest("hex").slice(0, 16);
}

/** Blanks comments and string literals (template literals whole, interpolations too), keeping offsets. */
function stripCommentsAndStrings(text: string): string {
  return text.replace(
    /\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`/g,
    (m) => " ".repeat(m.length),
  );
}
