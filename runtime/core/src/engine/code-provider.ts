/**
 * Where the engine gets user code. The sandbox needs the workflow bundle as a script; step bodies run in
 * the host and must be registered in `globalThis[Symbol.for("wfkit.steps")]` before they run.
 */
export interface WorkflowBundle {
  code: string;
  filename: string;
  sourceMap?: string;
}

export interface CodeProvider {
  /** The sandbox bundle (a script) that registers `workflowId` in globalThis[Symbol.for("wfkit.workflows")]. */
  getWorkflowBundle(workflowId: string): Promise<WorkflowBundle>;
  /** Ensures the step's implementation is registered in the host's globalThis[Symbol.for("wfkit.steps")]. */
  loadStep(stepId: string): Promise<void>;
}

export class MissingCodeProviderError extends Error {
  readonly code = "NO_CODE_PROVIDER";
  constructor(workflowId: string) {
    super(
      `Cannot run workflow "${workflowId}": no workflow code is available in this process. Start the app with ` +
        "`node --import workflow/register`, use the bundler plugin, or call configureRuntime({ codeProvider }).",
    );
    this.name = "MissingCodeProviderError";
  }
}
