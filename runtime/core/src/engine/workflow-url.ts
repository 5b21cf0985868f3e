/** Base URL of the app, reported by `getWorkflowMetadata().url`. */
export function workflowBaseUrl(env: Record<string, string | undefined> = process.env): string {
  return env.WORKFLOW_BASE_URL || "http://localhost:3000";
}
