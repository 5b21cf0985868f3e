/**
 * `workflow/observability` (WDK's module of the same name): decoding stored values for display without running
 * app code, display names of workflow and step IDs, and a run's overhead breakdown. Host only.
 */
export {
  type DisplayValue,
  displayTypeOf,
  hydrateData,
  hydrateResourceIO,
  observabilityRevivers,
  type ParsedName,
  parseClassName,
  parseStepName,
  parseWorkflowName,
  type Revivers,
  type RunOverhead,
  runOverhead,
  toJsonValue,
} from "@wfkit/core";
