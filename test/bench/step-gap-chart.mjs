// The step-gap chart of RESULTS.md: one line per system/world, step index on x, gap in ms on y, both log-scale
// (WDK's gaps are ~100× ours, so a linear y would flatten every other line to zero; and a system that could only
// run 100 steps would fill a tenth of a linear x axis).
// Hand-written SVG rather than a charting dependency: it is one static line chart, and the output must be
// byte-for-byte the same for the same figures so that a committed chart only changes when the figures do.

const STYLE = {
  "ours/memory": { color: "#9ca3af", dash: "4 3" },
  "ours/local": { color: "#2563eb" },
  "ours/postgres": { color: "#0891b2" },
  "wdk/local": { color: "#dc2626" },
  "wdk/postgres": { color: "#ea580c" },
  "dbos/postgres": { color: "#16a34a" },
};
const ORDER = Object.keys(STYLE);

const escapeXml = (s) =>
  s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Medians of the gaps in log-spaced bins of step index (10 per decade: single steps at first, ~100-step
 * blocks near step 1,000), each placed at its bin's geometric middle. Gap i (0-based) follows step i + 1.
 */
export function binMedians(gaps, perDecade = 10) {
  const points = [];
  let start = 1;
  for (let k = 1; start <= gaps.length; k++) {
    const end = Math.max(start, Math.floor(10 ** (k / perDecade)));
    const bin = gaps.slice(start - 1, end).filter((g) => g > 0);
    if (bin.length) points.push({ step: Math.sqrt(start * Math.min(end, gaps.length)), ms: median(bin) });
    start = end + 1;
  }
  return points;
}

/** `series`: { "<system>/<world>": [gap after step 1, gap after step 2, …] } in ms. Returns the SVG text. */
export function renderStepGapSvg(series) {
  const W = 860;
  const H = 440;
  const pad = { left: 70, right: 210, top: 40, bottom: 50 };
  const names = Object.keys(series)
    .filter((k) => series[k]?.length)
    .sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));
  const lines = names.map((name) => ({ name, points: binMedians(series[name]) }));
  const all = lines.flatMap((l) => l.points.map((p) => p.ms));
  const longest = Math.max(100, ...names.map((n) => series[n].length));
  const xMax = 10 ** Math.ceil(Math.log10(longest));
  const lo = Math.floor(Math.log10(Math.min(...all, 1)));
  const hi = Math.ceil(Math.log10(Math.max(...all, 1)));
  const x = (step) => pad.left + (Math.log10(step) / Math.log10(xMax)) * (W - pad.left - pad.right);
  const y = (ms) => pad.top + ((hi - Math.log10(ms)) / (hi - lo || 1)) * (H - pad.top - pad.bottom);
  const r = (n) => Math.round(n * 10) / 10;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<title>Step-to-step overhead by step index, in ms, for ${names.map(escapeXml).join(", ") || "no system"}</title>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2 - pad.right / 2}" y="22" text-anchor="middle" font-size="15">Step-to-step overhead by step index (ms)</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    const v = 10 ** e;
    const label = v >= 1 ? v.toLocaleString("en") : String(v);
    out.push(
      `<line x1="${pad.left}" x2="${W - pad.right}" y1="${r(y(v))}" y2="${r(y(v))}" stroke="#e5e7eb"/>`,
      `<text x="${pad.left - 8}" y="${r(y(v) + 4)}" text-anchor="end">${label}</text>`,
    );
  }
  const ticks = [];
  for (let d = 1; d <= xMax; d *= 10) ticks.push(...[d, 2 * d, 5 * d].filter((t) => t <= xMax));
  for (const step of ticks) {
    out.push(
      `<line x1="${r(x(step))}" x2="${r(x(step))}" y1="${H - pad.bottom}" y2="${H - pad.bottom + 5}" stroke="#6b7280"/>`,
      `<text x="${r(x(step))}" y="${H - pad.bottom + 18}" text-anchor="middle">${step.toLocaleString("en")}</text>`,
    );
  }
  out.push(
    `<line x1="${pad.left}" x2="${W - pad.right}" y1="${H - pad.bottom}" y2="${H - pad.bottom}" stroke="#6b7280"/>`,
    `<line x1="${pad.left}" x2="${pad.left}" y1="${pad.top}" y2="${H - pad.bottom}" stroke="#6b7280"/>`,
    `<text x="${(pad.left + W - pad.right) / 2}" y="${H - 12}" text-anchor="middle">step index (log scale; median of each bin of steps)</text>`,
    `<text transform="translate(18 ${(pad.top + H - pad.bottom) / 2}) rotate(-90)" text-anchor="middle">gap between step bodies (ms)</text>`,
  );
  lines.forEach(({ name, points }, i) => {
    const { color = "#000", dash } = STYLE[name] ?? {};
    const d = points.map((p) => `${r(x(p.step))},${r(y(p.ms))}`).join(" ");
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""} points="${d}"/>`,
    );
    const ly = pad.top + 10 + i * 22;
    const last = points.at(-1);
    out.push(
      `<line x1="${W - pad.right + 15}" x2="${W - pad.right + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`,
      `<text x="${W - pad.right + 46}" y="${ly + 4}">${escapeXml(name)}${series[name].length < 999 ? `, ${series[name].length + 1} steps` : ""}</text>`,
    );
    if (last) out.push(`<circle cx="${r(x(last.step))}" cy="${r(y(last.ms))}" r="2.5" fill="${color}"/>`);
  });
  if (!lines.length)
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no step-gap series in this run</text>`);
  out.push("</svg>", "");
  return out.join("\n");
}
