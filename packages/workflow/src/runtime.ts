/**
 * `workflow/runtime`: mount workflows in any server. `createHandlers()` gives the Web-standard flow, step
 * and webhook endpoints of `/.well-known/workflow/v1/*`; `createRouter()` answers all of them from one
 * function; `toNodeHandler()` mounts either in Node's `http` (or Connect-style middleware).
 * `useBuild()` points the runtime at a `.workflow/` folder written by `wf build`; `startWorker({ build })`
 * runs a dedicated worker from one.
 */
import { configureRuntime, createBuiltCodeProvider, type ReloadableCodeProvider } from "@wfkit/core";

export {
  type BuiltCodeProviderOptions,
  configureRuntime,
  createBuiltCodeProvider,
  createEmbeddedCodeProvider,
  createHandlers,
  createReadToken,
  createRouter,
  createStreamsHandler,
  type HandlersOptions,
  type MaybeHandler,
  MissingStreamsSecretError,
  type ReadTokenOptions,
  type ReloadableCodeProvider,
  resumePendingRuns,
  type StreamAccess,
  type StreamsHandlerOptions,
  startWorker,
  toNodeHandler,
  toWebRequest,
  type WebHandler,
  WORKFLOW_BASE_PATH,
  type Worker,
  type WorkerOptions,
  type WorkflowHandlers,
  type WorkflowRouter,
  worldFromEnv,
  writeWebResponse,
} from "@wfkit/core";

/**
 * Runs this process's workflows from a production build: `useBuild({ dir: ".workflow" })` after `wf build`.
 * Returns the code provider (call `reload()` after rebuilding in place).
 */
export function useBuild(options: { dir?: string; watch?: boolean } = {}): ReloadableCodeProvider {
  const codeProvider = createBuiltCodeProvider(options);
  configureRuntime({ codeProvider });
  return codeProvider;
}
