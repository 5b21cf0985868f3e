// The README's esbuild recipe, as written there.
import { build } from "esbuild";
import workflow from "workflow/esbuild";

await build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  outfile: "dist/app.js",
  plugins: [workflow()],
});
