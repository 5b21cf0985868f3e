// GET /bench?group=sequential&runs=3&max_run_s=120 runs one workload group inside this server process (where WDK
// runs the steps) and answers with the result rows and this process's peak RSS.
import { defineHandler } from "nitro/h3";
import { start } from "workflow/api";
import { sequential, three } from "../../workflows/bench";
import { peakRssMiB, runGroup } from "../../workloads.mjs";

const workflows = { sequential, three };

export default defineHandler(async (event) => {
  const q = event.url.searchParams;
  const group = q.get("group") ?? "sequential";
  const adapter = {
    async start(kind: "sequential" | "three", input: number) {
      const run = await start(workflows[kind], [input]);
      return { result: () => run.returnValue };
    },
  };
  if (q.get("warmup")) {
    for (let i = 0; i < Number(q.get("warmup")); i++) await (await adapter.start("sequential", 2)).result();
    return { warmed: true };
  }
  const rows = await runGroup(group, adapter, {
    runs: Number(q.get("runs") ?? 3),
    maxRunMs: Number(q.get("max_run_s") ?? 120) * 1000,
  });
  return { rows, peak_rss_mib: peakRssMiB() };
});
