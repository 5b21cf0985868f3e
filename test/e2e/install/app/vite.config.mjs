// `workflow/vite` in a server (SSR) build of src/main.ts; `vite preview` serves the workflow endpoints.
import { defineConfig } from "vite";
import workflow from "workflow/vite";

export default defineConfig({
  plugins: [workflow()],
  // Under dist/, which workflow discovery never walks: the bundle keeps the directives of src/.
  build: { ssr: "src/main.ts", outDir: "dist/server", emptyOutDir: true },
});
