/**
 * The dashboard's browser code, compiled into `dist/web-ui/` when the package is built (scripts/build-web-ui.mjs):
 * served from the package itself, never from a CDN. `src/web` and `dist/web` are both two folders below the package
 * root, so the same relative URL finds the files from the sources (tests) and from the build.
 */
import { readFile } from "node:fs/promises";

const UI_DIR = new URL("../../dist/web-ui/", import.meta.url);

const TYPES: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

const cache = new Map<string, Promise<string>>();

export function isAsset(name: string): boolean {
  return Object.hasOwn(TYPES, name);
}

export async function assetResponse(name: string): Promise<Response> {
  let text = cache.get(name);
  if (!text) {
    text = readFile(new URL(name, UI_DIR), "utf8");
    cache.set(name, text);
    text.catch(() => cache.delete(name));
  }
  try {
    return new Response(await text, {
      headers: { "content-type": TYPES[name] ?? "application/octet-stream", "cache-control": "no-cache" },
    });
  } catch {
    return new Response(
      `The dashboard's UI is not built (${new URL(name, UI_DIR).pathname} is missing): run \`npm run build -w workflow\`.\n`,
      { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } },
    );
  }
}

export function indexHtml(basePath: string, title: string): string {
  const attr = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${attr(title)}</title>
<link rel="stylesheet" href="${attr(basePath)}/assets/app.css">
</head>
<body>
<div id="app" data-base="${attr(basePath)}"></div>
<script type="module" src="${attr(basePath)}/assets/app.js"></script>
</body>
</html>
`;
}
