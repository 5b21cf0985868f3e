/** `workflow/errors`: every error class of the public API. */
export { FatalError, RetryableError } from "@wfkit/core/sandbox";
export { WorkflowRunCancelledError, WorkflowRunFailedError, WorkflowRunNotFoundError } from "@wfkit/core";
