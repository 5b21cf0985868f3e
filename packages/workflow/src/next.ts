/** `workflow/next`: `withWorkflow(nextConfig)` for Next.js, and what its generated routes call (see plugins/next). */
export * from "@wfkit/next";
