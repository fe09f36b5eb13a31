/**
 * Colour scales of the panels (pure: no DOM, so test/webview checks them in Node). Heatmaps use ROME's
 * matplotlib ramps per kind (Purples / Greens / Reds), the same as the CLI's HTML report, so a figure
 * looks the same wherever it was made; lines and axes take the VS Code theme's colours (theme.ts).
 */
import type { TraceKind } from '../../src/protocol/dto';

/** matplotlib's Purples / Greens / Reds (ColorBrewer, 9 classes), light to dark: ROME's choice per kind. */
export const RAMPS: Readonly<Record<TraceKind, readonly string[]>> = {
  hidden: ['#fcfbfd', '#efedf5', '#dadaeb', '#bcbddc', '#9e9ac8', '#807dba', '#6a51a3', '#54278f', '#3f007d'],
  mlp: ['#f7fcf5', '#e5f5e0', '#c7e9c0', '#a1d99b', '#74c476', '#41ab5d', '#238b45', '#006d2c', '#00441b'],
  attn: ['#fff5f0', '#fee0d2', '#fcbba1', '#fc9272', '#fb6a4a', '#ef3b2c', '#cb181d', '#a50f15', '#67000d'],
};

/** The line colour of each kind in the tracing-effect chart (the ramp's 7th class, as the report). */
export const KIND_LINE: Readonly<Record<TraceKind, string>> = { hidden: '#6a51a3', mlp: '#238b45', attn: '#cb181d' };

/** Where v falls between lo and hi, clamped to [0, 1]; 0 when the range is empty or v is not finite. */
export function normalise(v: number, lo: number, hi: number): number {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(v)) return 0;
  return Math.min(1, Math.max(0, (v - lo) / span));
}

function hexToRgb(hex: string): [number, number, number] {
  const h = hex.replace('#', '');
  const full = h.length === 3 ? [...h].map((c) => c + c).join('') : h.slice(0, 6);
  const n = parseInt(full, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const toHex = (r: number, g: number, b: number): string => '#' + ((Math.round(r) << 16) | (Math.round(g) << 8) | Math.round(b)).toString(16).padStart(6, '0');

/** The ramp's colour at x ∈ [0, 1] (clamped; NaN reads as 0), linear in RGB between the anchors. */
export function rampColour(ramp: readonly string[], x: number): string {
  if (ramp.length === 1) return ramp[0];
  const f = Math.min(1, Math.max(0, Number.isFinite(x) ? x : 0)) * (ramp.length - 1);
  const i = Math.min(ramp.length - 2, Math.floor(f));
  const w = f - i;
  const a = hexToRgb(ramp[i]);
  const b = hexToRgb(ramp[i + 1]);
  return toHex(a[0] * (1 - w) + b[0] * w, a[1] * (1 - w) + b[1] * w, a[2] * (1 - w) + b[2] * w);
}

/**
 * Any CSS colour VS Code's theme variables hold (#rgb, #rrggbb, #rrggbbaa, rgb(), rgba()) at `alpha`
 * (multiplied with its own), as rgba(); undefined for anything else (named colours, empty).
 */
export function withAlpha(colour: string, alpha: number): string | undefined {
  const c = colour.trim();
  let rgba: [number, number, number, number] | undefined;
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})$/i.exec(c);
  if (hex) {
    const [r, g, b] = hexToRgb(c);
    const a = hex[1].length === 8 ? parseInt(hex[1].slice(6), 16) / 255 : 1;
    rgba = [r, g, b, a];
  } else {
    const fn = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/i.exec(c);
    if (fn) {
      const a = fn[4] === undefined ? 1 : fn[4].endsWith('%') ? parseFloat(fn[4]) / 100 : parseFloat(fn[4]);
      rgba = [Number(fn[1]), Number(fn[2]), Number(fn[3]), a];
    }
  }
  if (!rgba) return undefined;
  const a = Math.round(Math.min(1, Math.max(0, rgba[3] * alpha)) * 1000) / 1000;
  return `rgba(${rgba[0]}, ${rgba[1]}, ${rgba[2]}, ${a})`;
}

/** Relative luminance (WCAG) of a #rrggbb colour: picks dark or light text over a heatmap cell. */
export function luminance(hex: string): number {
  const lin = (v: number): number => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = hexToRgb(hex);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}
