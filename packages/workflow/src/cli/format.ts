/** Output for people: aligned tables, relative times, durations, one-line previews of decoded values. */
import { inspect } from "node:util";
import { shortNameOf, toJsonValue } from "@wfkit/core";

/** `3s ago`, `in 2m`, `just now`; absolute times stay available through `--json`. */
export function relativeTime(at: Date | number | undefined, now: number = Date.now()): string {
  if (at === undefined) return "-";
  const ms = (typeof at === "number" ? at : at.getTime()) - now;
  const abs = Math.abs(ms);
  if (abs < 1_000) return "just now";
  const text = duration(abs, true);
  return ms < 0 ? `${text} ago` : `in ${text}`;
}

/** `850ms`, `1.2s`, `3m 05s`, `2h 10m`, `4d 3h`; `coarse` drops milliseconds below a minute. */
export function duration(ms: number | undefined, coarse = false): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  if (ms < 1_000) return coarse ? "0s" : `${Math.round(ms * 10) / 10}ms`;
  const s = ms / 1_000;
  if (s < 60) return coarse ? `${Math.floor(s)}s` : `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A decoded value on one line, cut at `max` characters. */
export function preview(value: unknown, max = 60): string {
  if (value === undefined) return "-";
  const text =
    value instanceof Error
      ? `${value.name}: ${value.message}`
      : inspect(value, {
          depth: 3,
          breakLength: Number.POSITIVE_INFINITY,
          compact: true,
          maxArrayLength: 10,
        });
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A decoded value in full, for detail views (errors with their stack and cause). */
export function full(value: unknown): string {
  return inspect(value, { depth: 8, breakLength: 100, maxArrayLength: 50, maxStringLength: 10_000 });
}

/** What a person calls a workflow or step: its short name, with the ID when asked. */
export function displayName(id: string): string {
  return shortNameOf(id);
}

/** An aligned table with a header row; the last column is never padded. */
export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return "";
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

/** Stable JSON for scripts: decoded values in the shapes `toJsonValue` documents, two-space indented. */
export function json(value: unknown): string {
  return `${JSON.stringify(toJsonValue(value), null, 2)}\n`;
}
