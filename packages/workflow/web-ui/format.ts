/** Display helpers: short names for workflow and step IDs, times and durations. */

/** `workflow//src/orders.ts//approveOrder` → `approveOrder`; other names as they are. */
export function shortName(id: string): string {
  const parts = id.split("//");
  return parts.length >= 3 ? (parts.at(-1) as string) : id;
}

/** The file part of an ID (`src/orders.ts`), if any. */
export function fileOf(id: string): string | undefined {
  const parts = id.split("//");
  return parts.length >= 3 ? parts.slice(1, -1).join("//") : undefined;
}

export function time(value: number | string | undefined): string {
  if (value === undefined) return "—";
  const d = new Date(value);
  return d.toLocaleString(undefined, { hour12: false });
}

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m ${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h ${Math.round((ms % 3_600_000) / 60_000)}m`;
}

export const ms = (value: number | string | undefined): number | undefined =>
  value === undefined ? undefined : typeof value === "number" ? value : Date.parse(value);

export const TERMINAL = ["completed", "failed", "cancelled"];

export function pretty(value: unknown): string {
  return value === undefined ? "—" : JSON.stringify(value, null, 2);
}
