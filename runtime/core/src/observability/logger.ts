/**
 * The runtime's one logger. Levels: `silent` < `error` < `warn` < `info` < `debug`, from `WORKFLOW_LOG_LEVEL`
 * (default `warn`: problems that lose or stall work reach stderr, and nothing else is printed unless asked for).
 * `WORKFLOW_LOG_FORMAT=json` writes one JSON object per line (`time`, `level`, `msg`, then the fields) instead of
 * text. `setLogger(sink)` (or `configureRuntime({ logger })`) routes records to the app's own logger instead of
 * stderr: a function that takes each record, or an object with `error`/`warn`/`info`/`debug` methods (console,
 * pino, winston…) called as `(msg, fields)`.
 *
 * What the engine logs: each run's end at `info` (`run completed` / `run failed` / `run cancelled`, with `runId`,
 * `workflowName`, `durationMs`, `errorCode`), each step attempt at `debug` (`step attempt`, with `runId`,
 * `stepId`, `stepName`, `attempt`, `ok`, `durationMs`, `errorCode`), background errors at `error`.
 *
 * Hand-written rather than pino: the runtime must not choose the app's logging library; it only needs levels and
 * a hook to route records into whatever the app uses.
 */

export type LogLevel = "silent" | "error" | "warn" | "info" | "debug";
export type RecordLevel = Exclude<LogLevel, "silent">;

export interface LogRecord {
  level: RecordLevel;
  msg: string;
  /** Epoch ms. */
  time: number;
  runId?: string;
  /** The error a record is about (its stack is printed in text format). */
  error?: unknown;
  [field: string]: unknown;
}

/** Where records go: a function, or a logger object with one method per level. */
export type LogSink =
  | ((record: LogRecord) => void)
  | Partial<Record<RecordLevel, (msg: string, fields: Record<string, unknown>) => void>>;

const RANK: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };
const LEVELS = Object.keys(RANK) as LogLevel[];

let level: LogLevel | undefined;
let format: "text" | "json" | undefined;
let sink: LogSink | undefined;

function levelFromEnv(): LogLevel {
  const raw = process.env.WORKFLOW_LOG_LEVEL?.trim().toLowerCase();
  if (!raw) return "warn";
  if ((LEVELS as string[]).includes(raw)) return raw as LogLevel;
  process.stderr.write(
    `[workflow] WORKFLOW_LOG_LEVEL="${process.env.WORKFLOW_LOG_LEVEL}" is not a level; use ${LEVELS.join(", ")}. Using "warn".\n`,
  );
  return "warn";
}

/** The level in force (`setLogLevel`, else `WORKFLOW_LOG_LEVEL`, else `warn`). */
export function logLevel(): LogLevel {
  level ??= levelFromEnv();
  return level;
}

/** Overrides `WORKFLOW_LOG_LEVEL`; `undefined` goes back to the environment (read again). */
export function setLogLevel(next: LogLevel | undefined): void {
  if (next !== undefined && !(LEVELS as string[]).includes(next)) {
    throw new TypeError(`setLogLevel("${next}"): use one of ${LEVELS.join(", ")}.`);
  }
  level = next;
  format = undefined;
}

/** Routes records to the app's logger (`undefined`: back to stderr). Records below the level are not sent. */
export function setLogger(next: LogSink | undefined): void {
  if (next !== undefined && typeof next !== "function" && (typeof next !== "object" || next === null)) {
    throw new TypeError(
      "setLogger(sink): pass a function (record) => void or an object with error/warn/info/debug methods.",
    );
  }
  sink = next;
}

export function isLogged(at: RecordLevel): boolean {
  return RANK[at] <= RANK[logLevel()];
}

function write(record: LogRecord): void {
  if (sink) {
    try {
      if (typeof sink === "function") sink(record);
      else {
        const { level: at, msg, time: _time, ...fields } = record;
        sink[at]?.(msg, fields);
      }
    } catch {
      // A broken app logger must not break the run that logged.
    }
    return;
  }
  format ??= process.env.WORKFLOW_LOG_FORMAT?.trim().toLowerCase() === "json" ? "json" : "text";
  process.stderr.write(format === "json" ? jsonLine(record) : textLine(record));
}

function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    ...(code === undefined ? {} : { code }),
    stack: error.stack,
  };
}

function jsonLine(record: LogRecord): string {
  const { time, level: at, msg, error, ...fields } = record;
  const out: Record<string, unknown> = { time: new Date(time).toISOString(), level: at, msg, ...fields };
  if (error !== undefined) out.error = errorFields(error);
  try {
    return `${JSON.stringify(out)}\n`;
  } catch {
    return `${JSON.stringify({ time: out.time, level: at, msg })}\n`;
  }
}

function textLine(record: LogRecord): string {
  const { time: _time, level: at, msg, error, ...fields } = record;
  const detail = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  const stack = error === undefined ? "" : `\n${(error as Error)?.stack ?? String(error)}`;
  return `[workflow] ${at}: ${msg}${detail ? ` ${detail}` : ""}${stack}\n`;
}

function emit(at: RecordLevel, msg: string, fields?: Record<string, unknown>): void {
  if (!isLogged(at)) return;
  write({ ...fields, level: at, msg, time: Date.now() });
}

export const log = {
  error: (msg: string, fields?: Record<string, unknown>) => emit("error", msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => emit("warn", msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => emit("info", msg, fields),
  debug: (msg: string, fields?: Record<string, unknown>) => emit("debug", msg, fields),
};

/** The `code` of an error (`WorldError`, our own errors, Node's), else its name: what logs and spans report. */
export function errorCode(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code) return code;
  const name = (error as { name?: unknown }).name;
  return typeof name === "string" && name ? name : undefined;
}
