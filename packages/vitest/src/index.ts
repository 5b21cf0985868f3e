/**
 * `@wfkit/vitest`: `workflow/vitest` under a package name of its own, so that code written for WDK's
 * `@workflow/vitest` runs unchanged once installed under that name (`npm i -D @workflow/vitest@npm:@wfkit/vitest`).
 * It is the same module, not a copy: the plugin, the setup and the helpers share one state with `workflow/vitest`.
 */
export * from "workflow/vitest";
