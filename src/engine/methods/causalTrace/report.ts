import { windowLayers } from './cells';
import type { TraceKind, TraceResult } from './types';

/**
 * A trace as one self-contained HTML page, drawn like ROME's figures (plot_trace_heatmap): a heatmap
 * per traced kind — tokens down (subject tokens marked '*'), layers across, colour from the low score
 * to the grid's largest score — and a line chart of the per-layer fractional tracing effect.
 * Invariants: no script and nothing fetched (inline CSS and SVG only, and a CSP that forbids any
 * load), so the file can be opened anywhere offline and mailed as is; every piece of text from the
 * user or the tokenizer goes through `esc`; each figure is repeated as a <table> for screen readers.
 */
export interface TraceReportMeta {
  readonly model: string;
  readonly prompt: string;
  readonly subject: string;
}

const KINDS: readonly TraceKind[] = ['hidden', 'mlp', 'attn'];
/** matplotlib's Purples / Greens / Reds (ColorBrewer, 9 classes), light to dark: ROME's choice per kind. */
const RAMPS: Record<TraceKind, readonly string[]> = {
  hidden: ['#fcfbfd', '#efedf5', '#dadaeb', '#bcbddc', '#9e9ac8', '#807dba', '#6a51a3', '#54278f', '#3f007d'],
  mlp: ['#f7fcf5', '#e5f5e0', '#c7e9c0', '#a1d99b', '#74c476', '#41ab5d', '#238b45', '#006d2c', '#00441b'],
  attn: ['#fff5f0', '#fee0d2', '#fcbba1', '#fc9272', '#fb6a4a', '#ef3b2c', '#cb181d', '#a50f15', '#67000d'],
};
const LINE: Record<TraceKind, string> = { hidden: '#6a51a3', mlp: '#238b45', attn: '#cb181d' };
/** ROME's names: "state" for the hidden grid's title, "MLP" / "Attn" for the windowed ones. */
const NAME: Record<TraceKind, string> = { hidden: 'state', mlp: 'MLP', attn: 'Attn' };

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ENTITIES[c]);
/** Tokens with newlines, tabs or other control characters drawn visibly (a bare "\n" row label would be blank). */
const shown = (token: string): string =>
  token.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
/** Probabilities span decades (low scores near 1e-4): fixed 4 decimals, exponent below 0.001. */
const fmt = (v: number): string => (v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(4));
const px = (v: number): string => String(Math.round(v * 10) / 10);

/** The ramp's colour at x ∈ [0, 1] (clamped), linear between the anchors. */
function rampColour(ramp: readonly string[], x: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(x) ? x : 0)) * (ramp.length - 1);
  const i = Math.min(ramp.length - 2, Math.floor(f));
  const a = parseInt(ramp[i].slice(1), 16);
  const b = parseInt(ramp[i + 1].slice(1), 16);
  const mix = (shift: number): number => Math.round(((a >> shift) & 255) * (1 - (f - i)) + ((b >> shift) & 255) * (f - i));
  return '#' + ((mix(16) << 16) | (mix(8) << 8) | mix(0)).toString(16).padStart(6, '0');
}

function rowLabels(r: TraceResult): string[] {
  const [b, e] = r.subjectRange;
  return r.tokens.map((t, i) => shown(t) + (i >= b && i < e ? '*' : ''));
}

/** Layer ticks: every layer for small models, every 5th for deep ones (ROME labels every 5th). */
const tickEvery = (L: number): number => (L <= 16 ? 1 : L <= 40 ? 5 : 10);

function heatmap(r: TraceResult, kind: TraceKind, meta: TraceReportMeta): string {
  const grid = r.grids[kind]!;
  const labels = rowLabels(r);
  const T = grid.scores.length;
  const L = grid.scores[0]?.length ?? 0;
  const lo = r.lowScore;
  const hi = Math.max(lo, ...grid.scores.flat());
  const span = hi - lo;
  const ramp = RAMPS[kind];
  // Geometry: row labels right-aligned left of the grid; labels cut at 32 characters (the full token is in each tooltip).
  const cut = labels.map((s) => (s.length > 32 ? s.slice(0, 31) + '…' : s));
  const labelW = 16 + 7.2 * Math.max(4, ...cut.map((s) => s.length));
  const cw = Math.min(40, Math.max(10, 640 / Math.max(1, L)));
  const ch = 22;
  const top = 24;
  const gridW = L * cw;
  const gridH = T * ch;
  const barX = labelW + gridW + 18;
  const width = barX + 16 + 70;
  const height = top + gridH + 56;
  const [b] = r.subjectRange;
  const out: string[] = [];
  const answer = r.answer.token.trim();
  const title = `Impact of restoring ${NAME[kind]} after corrupted input`;
  const xLabel = kind === 'hidden' ? `single restored layer within ${meta.model}` : `center of interval of ${grid.window} restored ${NAME[kind]} layers`;
  out.push(`<svg class="heatmap" data-kind="${kind}" width="${px(width)}" height="${height}" viewBox="0 0 ${px(width)} ${height}" shape-rendering="crispEdges" role="img" aria-label="${esc(title)}">`);
  for (let t = 0; t < T; t++) {
    const y = top + t * ch;
    out.push(`<text class="tok" x="${px(labelW - 8)}" y="${y + ch / 2}" text-anchor="end" dominant-baseline="central">${esc(cut[t])}</text>`);
    for (let l = 0; l < L; l++) {
      const p = grid.scores[t][l];
      const colour = rampColour(ramp, span > 0 ? (p - lo) / span : 0);
      const win = windowLayers(l, grid.window, L);
      const restored = kind === 'hidden' ? `layer ${l}` : `layer ${l}, restoring ${NAME[kind]} layers ${win[0]}–${win[win.length - 1]}`;
      const note = t < b ? ' (before the subject: restoring cannot help, so the low score)' : '';
      const tip = `token ${t} ${JSON.stringify(r.tokens[t])}${labels[t].endsWith('*') ? ' (subject)' : ''}, ${restored}: p(${answer}) = ${fmt(p)}${note}`;
      out.push(`<rect x="${px(labelW + l * cw)}" y="${y}" width="${px(cw)}" height="${ch}" fill="${colour}"><title>${esc(tip)}</title></rect>`);
    }
  }
  const every = tickEvery(L);
  for (let l = 0; l < L; l += every) {
    out.push(`<text class="tick" x="${px(labelW + (l + 0.5) * cw)}" y="${top + gridH + 14}" text-anchor="middle">${l}</text>`);
  }
  out.push(`<text class="axis" x="${px(labelW + gridW / 2)}" y="${top + gridH + 38}" text-anchor="middle">${esc(xLabel)}</text>`);
  // Colour bar: the ramp from the low score (bottom) to the grid's largest score (top), as ROME's colorbar.
  const stops = ramp.map((c, i) => `<stop offset="${px((i / (ramp.length - 1)) * 100)}%" stop-color="${c}"/>`).join('');
  out.push(`<defs><linearGradient id="bar-${kind}" x1="0" y1="1" x2="0" y2="0">${stops}</linearGradient></defs>`);
  out.push(`<rect class="bar" x="${px(barX)}" y="${top}" width="16" height="${gridH}" fill="url(#bar-${kind})"/>`);
  const nTicks = gridH >= 120 ? 5 : 3;
  for (let i = 0; i < nTicks; i++) {
    const v = lo + (span * i) / (nTicks - 1);
    const y = top + gridH - (gridH * i) / (nTicks - 1);
    out.push(`<line x1="${px(barX + 16)}" x2="${px(barX + 20)}" y1="${px(y)}" y2="${px(y)}" stroke="#444"/>`);
    out.push(`<text class="tick" x="${px(barX + 23)}" y="${px(y)}" dominant-baseline="central">${fmt(v)}</text>`);
  }
  out.push(`<text class="tick" x="${px(barX + 8)}" y="${top - 9}" text-anchor="middle">${esc(`p(${answer})`)}</text>`);
  out.push('</svg>');
  return `<section><h2>${esc(title)}</h2>\n${out.join('\n')}\n${scoreTable(r, kind, title)}</section>`;
}

function scoreTable(r: TraceResult, kind: TraceKind, title: string): string {
  const grid = r.grids[kind]!;
  const labels = rowLabels(r);
  const L = grid.scores[0]?.length ?? 0;
  const head = Array.from({ length: L }, (_, l) => `<th scope="col">${l}</th>`).join('');
  const rows = grid.scores.map((row, t) => `<tr><th scope="row">${esc(labels[t])}</th>${row.map((p) => `<td>${fmt(p)}</td>`).join('')}</tr>`);
  return (
    `<details><summary>${esc(kind)} scores as a table</summary><table class="scores" data-kind="${kind}">` +
    `<caption>${esc(title)}: p(${esc(r.answer.token.trim())}) per token (rows, * = subject) and layer (columns)</caption>` +
    `<thead><tr><th scope="col">token</th>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table></details>`
  );
}

/** Per-layer fractional tracing effect, one solid line per kind (max over tokens), dashed at the last subject token. */
function effectChart(r: TraceResult): string {
  const kinds = KINDS.filter((k) => r.tracingEffect[k]);
  const series = kinds.flatMap((k) => [
    { kind: k, dashed: false, name: `${k}: max over tokens`, values: r.tracingEffect[k]! },
    { kind: k, dashed: true, name: `${k}: last subject token`, values: r.tracingEffectLastSubject[k] ?? [] },
  ]);
  const L = Math.max(1, ...series.map((s) => s.values.length));
  const all = series.flatMap((s) => s.values);
  // 0…1 unless the unclipped variant leaves it by more than rounding; then out to the next quarter.
  const lowest = Math.min(0, ...all);
  const highest = Math.max(1, ...all);
  const yMin = lowest > -0.01 ? 0 : Math.floor(lowest * 4) / 4;
  const yMax = highest < 1.01 ? 1 : Math.ceil(highest * 4) / 4;
  const left = 60;
  const top = 12;
  const w = 560;
  const h = 240;
  const x = (l: number): number => left + (L > 1 ? (l / (L - 1)) * w : w / 2);
  const y = (v: number): number => top + h - ((v - yMin) / (yMax - yMin)) * h;
  const out: string[] = [`<svg class="effect" width="${left + w + 230}" height="${top + h + 50}" role="img" aria-label="Fractional tracing effect per layer">`];
  for (let i = 0; i <= 4; i++) {
    const v = yMin + ((yMax - yMin) * i) / 4;
    out.push(`<line x1="${left}" x2="${left + w}" y1="${px(y(v))}" y2="${px(y(v))}" stroke="#ddd"/>`);
    out.push(`<text class="tick" x="${left - 6}" y="${px(y(v))}" text-anchor="end" dominant-baseline="central">${v.toFixed(2)}</text>`);
  }
  for (let l = 0; l < L; l += tickEvery(L)) out.push(`<text class="tick" x="${px(x(l))}" y="${top + h + 16}" text-anchor="middle">${l}</text>`);
  out.push(`<text class="axis" x="${left + w / 2}" y="${top + h + 40}" text-anchor="middle">layer</text>`);
  out.push(`<text class="axis" transform="translate(12 ${top + h / 2}) rotate(-90)" text-anchor="middle">fractional effect</text>`);
  series.forEach((s, i) => {
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const pts = s.values.map((v, l) => `${px(x(l))},${px(y(v))}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${LINE[s.kind]}" stroke-width="2"${dash}/>`);
    for (const [l, v] of s.values.entries()) {
      out.push(`<circle cx="${px(x(l))}" cy="${px(y(v))}" r="3" fill="${s.dashed ? '#fff' : LINE[s.kind]}" stroke="${LINE[s.kind]}"><title>${esc(`${s.name}, layer ${l}: ${v.toFixed(4)}`)}</title></circle>`);
    }
    const ly = top + 10 + i * 20;
    out.push(`<line x1="${left + w + 20}" x2="${left + w + 50}" y1="${ly}" y2="${ly}" stroke="${LINE[s.kind]}" stroke-width="2"${dash}/>`);
    out.push(`<text class="tick" x="${left + w + 56}" y="${ly}" dominant-baseline="central">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  const head = Array.from({ length: L }, (_, l) => `<th scope="col">${l}</th>`).join('');
  const rows = series.map((s) => `<tr><th scope="row">${esc(s.name)}</th>${s.values.map((v) => `<td>${v.toFixed(4)}</td>`).join('')}</tr>`);
  const table =
    `<details><summary>tracing effect as a table</summary><table class="effects"><caption>Fractional tracing effect per layer (columns)</caption>` +
    `<thead><tr><th scope="col">series</th>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table></details>`;
  const note =
    '<p class="note">Fraction of the way from the corrupted score back to the clean one: max(0, (p − low) / |low − max(high, max p)|), ' +
    'the maximum over tokens from the first subject token on; dashed: the unclipped fraction at the last subject token.</p>';
  return `<section><h2>Fractional tracing effect per layer</h2>\n${note}\n${out.join('\n')}\n${table}</section>`;
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; background: #fff; margin: 24px 32px; max-width: 1100px; }
h1 { font-size: 20px; margin: 0 0 12px; }
h2 { font-size: 16px; margin: 28px 0 6px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; }
dt { color: #555; }
dd { margin: 0; }
dd code { white-space: pre-wrap; }
code, .tok, table { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
svg text { font-size: 12px; fill: #1b1b1b; white-space: pre; }
svg text.tok { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
svg text.axis { font-size: 13px; }
svg rect:hover { stroke: #000; stroke-width: 1.5; }
svg { display: block; overflow: visible; }
.note { color: #555; margin: 0 0 8px; max-width: 760px; }
details { margin: 6px 0 0; }
table { border-collapse: collapse; font-size: 12px; margin-top: 6px; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; white-space: pre; }
th[scope=row] { text-align: left; }
caption { text-align: left; color: #555; padding-bottom: 4px; font-family: system-ui, sans-serif; }
`;

/** The report page for one trace; `meta.model` is the model's name as shown in the x label. */
export function traceReportHtml(result: TraceResult, meta: TraceReportMeta): string {
  const r = result;
  const [b, e] = r.subjectRange;
  const subjectTokens = r.tokens.slice(b, e).map((t) => JSON.stringify(t)).join(' ');
  const fields: Array<[string, string]> = [
    ['model', esc(meta.model)],
    ['prompt', `<code>${esc(meta.prompt)}</code>`],
    ['subject', `<code>${esc(meta.subject)}</code> — tokens ${b}…${e - 1}: <code>${esc(subjectTokens)}</code>`],
    ['answer', `<code>${esc(JSON.stringify(r.answer.token))}</code> (id ${r.answer.id}${r.answer.ids.length > 1 ? `; ids ${r.answer.ids.join(', ')}` : ''}), scored by ${esc(r.score)}`],
    ['high score', `${fmt(r.highScore)} (clean run)`],
    ['low score', `${fmt(r.lowScore)} (subject corrupted)`],
    ['noise level', `σ = ${r.noiseLevel.toPrecision(4)}`],
    ['samples', String(r.samples)],
    ['seed', String(r.seed)],
    ['run time', `${r.seconds.toFixed(1)} s for ${r.cells} cells`],
  ];
  const header = fields.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('\n');
  const figures = KINDS.filter((k) => r.grids[k]).map((k) => heatmap(r, k, meta));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`Causal trace: ${meta.prompt}`)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Causal trace</h1>
<dl>
${header}
</dl>
${figures.join('\n')}
${effectChart(r)}
</body>
</html>
`;
}
