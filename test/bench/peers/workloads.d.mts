// Types for workloads.mjs, so the WDK app's TypeScript route can import the plain-JS module.
export interface WorkloadHandle {
  result(): Promise<unknown>;
}
export interface WorkloadAdapter {
  start(kind: "sequential" | "three", input: number): Promise<WorkloadHandle>;
}
export interface WorkloadOptions {
  runs?: number;
  maxRunMs?: number;
}
export type WorkloadRow = Record<string, unknown> & { workload: string };
export class RunTimeout extends Error {}
export function recordStep(): void;
export function summarize(workload: string, samples: number[], extra?: object): WorkloadRow;
export function runGroup(
  group: string,
  adapter: WorkloadAdapter,
  opts?: WorkloadOptions,
): Promise<WorkloadRow[]>;
export function peakRssMiB(): number;
