import { defineConfig, type ViteDevServer } from "vite";
import { toNodeHandler } from "workflow/runtime";
import workflow from "workflow/vite";

/** In dev, `/api/*` is answered by src/server/api.ts, loaded through Vite so edits apply at once. */
function devApi() {
  return {
    name: "vite-app-api",
    configureServer(server: ViteDevServer) {
      server.middlewares.use((req, res, next) => {
        if (!req.url?.startsWith("/api/")) return next();
        void server
          .ssrLoadModule("/src/server/api.ts")
          .then(
            (mod) => toNodeHandler((mod as typeof import("./src/server/api.js")).api)(req, res, next),
            next,
          );
      });
    },
  };
}

export default defineConfig({
  plugins: [workflow(), devApi()],
  build: { outDir: "dist/client" },
});
