/**
 * The exact code the runtime's ABI expects (runtime/core/src/sandbox/abi.ts): global symbols only, so the
 * output needs no import a bundler or the sandbox would have to resolve.
 */
const str = JSON.stringify;

export function useStepCall(id: string, closure: string[]): string {
  const thunk = closure.length ? `, () => ({ ${closure.join(", ")} })` : "";
  return `globalThis[Symbol.for("wfkit.useStep")](${str(id)}${thunk})`;
}

export function registerWorkflow(ref: string, id: string): string {
  return `${ref}.workflowId = ${str(id)};\n(globalThis[Symbol.for("wfkit.workflows")] ??= new Map()).set(${str(id)}, ${ref});`;
}

export function registerStep(ref: string, id: string): string {
  return `${ref}.stepId = ${str(id)};\n(globalThis[Symbol.for("wfkit.steps")] ??= new Map()).set(${str(id)}, ${ref});`;
}

export function tagProperty(ref: string, prop: "workflowId" | "stepId", id: string): string {
  return `${ref}.${prop} = ${str(id)};`;
}

/** Prefix and suffix that register a function expression in place: `prefix + fn + suffix`. */
export function registerInPlace(registry: "workflows" | "steps", id: string): [string, string] {
  const prop = registry === "workflows" ? "workflowId" : "stepId";
  return [
    `((fn) => ((globalThis[Symbol.for("wfkit.${registry}")] ??= new Map()).set(${str(id)}, fn), fn.${prop} = ${str(id)}, fn))(`,
    ")",
  ];
}

/** Workflow shape: a step stub's ID and, for a nested step, the thunk reading its closure (a step reference). */
export function tagStepReference(ref: string, id: string, closure: string[] | undefined): string {
  const thunk = closure
    ? `\n${ref}[Symbol.for("wfkit.stepClosure")] = () => ({ ${closure.join(", ")} });`
    : "";
  return `${ref}.stepId = ${str(id)};${thunk}`;
}

export function tagStepReferenceInPlace(id: string, closure: string[] | undefined): [string, string] {
  const thunk = closure ? `, [Symbol.for("wfkit.stepClosure")]: () => ({ ${closure.join(", ")} })` : "";
  return ["Object.assign(", `, { stepId: ${str(id)}${thunk} })`];
}

/** Prefix and suffix that set `workflowId`/`stepId` on a function expression in place. */
export function tagInPlace(prop: "workflowId" | "stepId", id: string): [string, string] {
  return ["Object.assign(", `, { ${prop}: ${str(id)} })`];
}

/** Closed-over workflow variables, read back at the top of a hoisted step (step mode). */
export function readClosure(closure: string[]): string {
  return `const { ${closure.join(", ")} } = globalThis[Symbol.for("wfkit.closure")]();`;
}

export function workflowThrowInStepCode(name: string): string {
  const what = name === "default" ? "This default export" : name;
  return `throw new Error(${str(`${what} is a workflow: it runs only through start() from "workflow/api", not by a direct call from step code.`)});`;
}

export function workflowThrowInClient(name: string): string {
  const callee = name === "default" ? "<the default export>" : name;
  const what = name === "default" ? "This default export" : name;
  return `throw new Error(${str(`${what} is a workflow and cannot be called directly. Launch it with start(${callee}, args) from "workflow/api".`)});`;
}
