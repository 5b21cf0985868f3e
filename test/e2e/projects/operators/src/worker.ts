/** The app: a worker process that executes the runs operators start, retry and fork. */
import { startWorker } from "workflow/runtime";

await startWorker({ sweepIntervalMs: 200 });
console.log(`WORKER ${process.pid} ready`);
