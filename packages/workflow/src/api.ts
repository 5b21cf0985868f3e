/** `workflow/api`: what application code uses to launch and follow runs. Host only. */
export {
  getHookByToken,
  getRun,
  HookConflictError,
  type HookInfo,
  HookNotFoundError,
  HookPayloadInvalidError,
  Run,
  resumeHook,
  resumeWebhook,
  start,
  WorkflowRunCancelledError,
  WorkflowRunFailedError,
  WorkflowRunNotFoundError,
} from "@wfkit/core";
