/**
 * Runs recorded before IDs took WDK's scheme name their workflow and steps the earlier way: the module
 * relative to the project root with a leading `./` and no extension (`workflow//./src/order//order`), or a
 * package path without version or extension (`step//some-pkg/dist/steps//charge`). Code built since registers
 * `workflow//src/order.ts//order` and `step//some-pkg@1.0.0/dist/steps.js//charge`. So that such runs resume
 * (and replay without a divergence), a recorded ID in the earlier form matches the current ID of the same
 * function: same kind and name, same module once the `./`, the version and the extension are set aside.
 */

/** True for an ID in the earlier form (its module starts with `./`). */
export function isLegacyFunctionId(id: string): boolean {
  const parts = split(id);
  return parts?.module.startsWith("./") ?? false;
}

/** Whether `recorded` (maybe in the earlier form) names the same function as `current`. */
export function sameFunctionId(recorded: string, current: string): boolean {
  if (recorded === current) return true;
  const a = split(recorded);
  const b = split(current);
  if (!a || !b || a.kind !== b.kind || a.name !== b.name) return false;
  if (!looksLegacy(a.module)) return false;
  return normalise(a.module) === normalise(b.module);
}

/** The value registered under an ID that `recorded` names, in `registry`. */
export function lookupFunction<T>(registry: Map<string, T> | undefined, recorded: string): T | undefined {
  if (!registry) return undefined;
  const direct = registry.get(recorded);
  if (direct !== undefined) return direct;
  const parts = split(recorded);
  if (!parts || !looksLegacy(parts.module)) return undefined;
  for (const [id, value] of registry) if (sameFunctionId(recorded, id)) return value;
  return undefined;
}

function split(id: string): { kind: string; module: string; name: string } | undefined {
  const first = id.indexOf("//");
  if (first === -1) return undefined;
  const rest = id.slice(first + 2);
  const second = rest.indexOf("//");
  if (second <= 0) return undefined;
  return { kind: id.slice(0, first), module: rest.slice(0, second), name: rest.slice(second + 2) };
}

const EXTENSION = /\.[cm]?[jt]sx?$/;

/** The earlier form: `./path` (project file) or a package path with neither version nor extension. */
function looksLegacy(module: string): boolean {
  if (module.startsWith("./")) return true;
  if (module.startsWith("../")) return false;
  return !EXTENSION.test(module) && !/^(?:@[^/@]+\/)?[^/@]+@/.test(module);
}

function normalise(module: string): string {
  return module
    .replace(/^\.\//, "")
    .replace(/^((?:@[^/@]+\/)?[^/@]+)@[^/]+/, "$1")
    .replace(EXTENSION, "");
}

/**
 * A pattern finding, in a bundle's text, the current ID of the function an earlier-form ID names (the bundle
 * registers each ID as a string literal); undefined for an ID in the current form.
 */
export function currentIdPattern(recorded: string): RegExp | undefined {
  const parts = split(recorded);
  if (!parts || !looksLegacy(parts.module)) return undefined;
  const module = parts.module.replace(/^\.\//, "");
  const pkg = /^(?:@[^/@]+\/)?[^/@]+/.exec(module)?.[0] ?? "";
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    `["']${esc(parts.kind)}//${esc(pkg)}(?:@[^/"']+)?${esc(module.slice(pkg.length))}\\.[cm]?[jt]sx?//${esc(parts.name)}["']`,
  );
}
