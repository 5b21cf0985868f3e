/** `workflow/api`: what application code uses to launch and follow runs. Host only. */
export {
  getRun,
  Run,
  start,
  WorkflowRunCancelledError,
  WorkflowRunFailedError,
  WorkflowRunNotFoundError,
} from "@wfkit/core";
