/** A dedicated worker process: executes runs, and claims steps that any executor offers. */
import { startWorker } from "@wfkit/core";

await startWorker({ sweepIntervalMs: 500 });
console.log(`WORKER ${process.pid} ready`);
