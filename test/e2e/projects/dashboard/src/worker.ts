/** The app: a worker process that executes the runs the dashboard starts, retries and forks. */
import { startWorker } from "workflow/runtime";

await startWorker({ sweepIntervalMs: 200 });
console.log(`WORKER ${process.pid} ready`);
