/** Slug of the doc that explains which values can cross the workflow boundary and how to make others do so. */
export const UNSUPPORTED_VALUE_SLUG = "serialization-unsupported-value";
/** Slug of the doc about classes with custom serializers (registration, IDs). */
export const UNKNOWN_CLASS_SLUG = "serialization-unknown-class";

/**
 * A value could not be serialized (or revived). `path` names where in the value it happened, e.g.
 * `args[0].user.socket`; `slug` names the doc that explains the rule.
 */
export class SerializationError extends Error {
  readonly code = "SERIALIZATION_FAILED";
  readonly path: string;
  readonly slug: string;
  /** How to fix it, also included in the message. */
  readonly hint: string;
  constructor(path: string, problem: string, hint: string, slug: string = UNSUPPORTED_VALUE_SLUG) {
    const lead = boundaryOf(path);
    super(
      `${lead ? `Failed to serialize ${lead} at path "${shorten(path)}"` : shorten(path)}: ${problem}. ${hint} (see docs: ${slug})`,
    );
    this.name = "SerializationError";
    this.path = path;
    this.slug = slug;
    this.hint = hint;
  }
}

/**
 * The boundary a path's root names, in the words WDK's messages start with ("Failed to serialize step arguments"),
 * which its documentation tells workflow code to match on; undefined for other values (hook payloads, streams, …).
 */
function boundaryOf(path: string): string | undefined {
  if (/^args(?:$|[.[])/.test(path)) return "workflow arguments";
  if (/^workflow return value(?:$|[.[])/.test(path)) return "workflow return value";
  if (/^step\/\/.+? input(?:$|[.[])/.test(path)) return "step arguments";
  if (/^step\/\/.+? return value(?:$|[.[])/.test(path)) return "step return value";
  return undefined;
}

const PATH_SHOWN = 120;

/** A path of a deeply nested value is thousands of characters: the message keeps its two ends (`path` has all). */
function shorten(path: string): string {
  if (path.length <= PATH_SHOWN * 2 + 20) return path;
  const omitted = path.length - PATH_SHOWN * 2;
  return `${path.slice(0, PATH_SHOWN)}…(${omitted} characters)…${path.slice(-PATH_SHOWN)}`;
}
