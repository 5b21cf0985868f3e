/**
 * `@wfkit/errors`: `workflow/errors` under a package name of its own, so that code written for WDK's
 * `@workflow/errors` runs unchanged once installed under that name (`npm i @workflow/errors@npm:@wfkit/errors`).
 * The classes are those of `workflow/errors` (one module), so `instanceof` agrees between the two imports.
 */
export * from "workflow/errors";
