// Compiles the dashboard's browser code (web-ui/, Preact) into dist/web-ui/app.js and app.css: the package serves
// these files itself, so the dashboard needs no CDN or network at run time.
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
mkdirSync(`${root}/dist/web-ui`, { recursive: true });
await build({
  entryPoints: { app: `${root}/web-ui/main.tsx` },
  outdir: `${root}/dist/web-ui`,
  entryNames: "[name]",
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  logLevel: "warning",
});
