/** A dedicated worker process: executes runs that any process started. */
import { startWorker } from "@wfkit/core";

await startWorker({ sweepIntervalMs: 500 });
console.log(`WORKER ${process.pid} ready`);
