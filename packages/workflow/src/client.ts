/** `workflow/client`: follow runs live from the browser (browser-safe; see `@wfkit/client`). */
export * from "@wfkit/client";
