/**
 * Which world the process-wide engine uses when none is configured in code:
 * `WORKFLOW_TARGET_WORLD` = `local` (default; files under `WORKFLOW_LOCAL_DATA_DIR`, default
 * `.workflow-data`), `memory`, `postgres` / `sqlite` / `redis` / `vercel` (their packages' `createWorld(env)`,
 * configured from their environment variables), or a module path or package name that exports `createWorld()`.
 */
import { createRequire } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createMemoryWorld, type World } from "@wfkit/world";

const PACKAGES: Record<string, string> = {
  postgres: "@wfkit/world-postgres",
  sqlite: "@wfkit/world-sqlite",
  redis: "@wfkit/world-redis",
  vercel: "@wfkit/world-vercel",
};

// Through a variable so TypeScript does not require optional world packages to be installed.
const importByName = (specifier: string): Promise<Record<string, unknown>> => import(specifier);

/**
 * An optional world package, found from this module or else from the app's folder: with pnpm's isolated
 * `node_modules` (and in an app bundle) this runtime cannot see packages that only the app depends on.
 */
async function importModule(specifier: string, cwd = process.cwd()): Promise<Record<string, unknown>> {
  try {
    return await importByName(specifier);
  } catch (error) {
    if ((error as { code?: string }).code !== "ERR_MODULE_NOT_FOUND" || specifier.startsWith("file:"))
      throw error;
    let fromApp: string;
    try {
      fromApp = createRequire(join(cwd, "package.json")).resolve(specifier);
    } catch {
      throw error;
    }
    return await importByName(pathToFileURL(fromApp).href);
  }
}

export async function worldFromEnv(env: Record<string, string | undefined> = process.env): Promise<World> {
  const target = env.WORKFLOW_TARGET_WORLD?.trim() || "local";
  if (target === "memory") return createMemoryWorld();
  if (target === "local") {
    // A literal specifier, so that bundlers include the default world in an app bundle.
    const mod = (await import("@wfkit/world-local")) as Record<string, unknown>;
    const create = mod.createLocalWorld as
      | ((opts: { dataDir: string }) => World | Promise<World>)
      | undefined;
    if (typeof create !== "function")
      throw new Error("@wfkit/world-local does not export createLocalWorld().");
    return await create({ dataDir: resolve(env.WORKFLOW_LOCAL_DATA_DIR || ".workflow-data") });
  }
  const specifier =
    PACKAGES[target] ??
    (target.startsWith(".") || isAbsolute(target) ? pathToFileURL(resolve(target)).href : target);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(specifier);
  } catch (error) {
    throw new Error(
      `WORKFLOW_TARGET_WORLD="${target}" could not be loaded (${(error as Error).message}). Use "local", ` +
        '"memory", "postgres", "sqlite", "redis", "vercel", or a module path that exports createWorld().',
      { cause: error },
    );
  }
  const create = (mod.createWorld ?? (mod.default as Record<string, unknown> | undefined)?.createWorld) as
    | ((env: Record<string, string | undefined>) => World | Promise<World>)
    | undefined;
  if (typeof create !== "function") {
    throw new Error(`WORKFLOW_TARGET_WORLD="${target}" names a module that does not export createWorld().`);
  }
  // The environment this selection was made from, so that a world configures itself from the same variables.
  return await create(env);
}
