/** Steps append a line per execution here, so tests can count how often each body really ran. */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import path from "node:path";

const file = () => path.join(process.env.WORKFLOW_LOCAL_DATA_DIR ?? ".", "..", "ledger.txt");

export function record(entry: string): void {
  appendFileSync(file(), `${entry}\n`);
}

export function executions(entry: string): number {
  if (!existsSync(file())) return 0;
  return readFileSync(file(), "utf8")
    .split("\n")
    .filter((l) => l === entry).length;
}
