/** `workflow/errors`: every error class of the public API. Sandbox-safe: workflow code may import it. */
export {
  FatalError,
  HookConflictError,
  HookNotFoundError,
  HookPayloadInvalidError,
  QueryNotFoundError,
  RetryableError,
  RunAlreadyExistsError,
  StepTimeoutError,
  WorkflowRunCancelledError,
  WorkflowRunFailedError,
  WorkflowRunNotFoundError,
} from "@wfkit/core/sandbox";
