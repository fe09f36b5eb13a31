/**
 * A small PNG writer (RGB, 8 bits, filter 0 rows, zlib from Node; CRC-32 per the PNG spec, ISO 3309)
 * and a line-plot rasteriser for the benchmarks' curves: panels of lines on a white canvas, axis
 * ranges printed in a 3×5 pixel font, one colour per series with a legend.
 */
import * as zlib from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** PNG bytes of an RGB image, `rgb` [height, width, 3]. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** 3×5 glyphs, rows top to bottom, '#' = ink. */
const FONT: Record<string, string> = {
  '0': '###,#.#,#.#,#.#,###', '1': '.#.,##.,.#.,.#.,###', '2': '###,..#,###,#..,###', '3': '###,..#,###,..#,###', '4': '#.#,#.#,###,..#,..#',
  '5': '###,#..,###,..#,###', '6': '###,#..,###,#.#,###', '7': '###,..#,..#,..#,..#', '8': '###,#.#,###,#.#,###', '9': '###,#.#,###,..#,###',
  '.': '...,...,...,...,.#.', '-': '...,...,###,...,...', ' ': '...,...,...,...,...', 'A': '.#.,#.#,###,#.#,#.#', 'B': '##.,#.#,##.,#.#,##.',
  'C': '###,#..,#..,#..,###', 'D': '##.,#.#,#.#,#.#,##.', 'E': '###,#..,##.,#..,###', 'F': '###,#..,##.,#..,#..', 'G': '###,#..,#.#,#.#,###',
  'H': '#.#,#.#,###,#.#,#.#', 'I': '###,.#.,.#.,.#.,###', 'J': '..#,..#,..#,#.#,###', 'K': '#.#,#.#,##.,#.#,#.#', 'L': '#..,#..,#..,#..,###',
  'M': '#.#,###,###,#.#,#.#', 'N': '##.,#.#,#.#,#.#,#.#', 'O': '###,#.#,#.#,#.#,###', 'P': '###,#.#,###,#..,#..', 'Q': '###,#.#,#.#,###,..#',
  'R': '##.,#.#,##.,#.#,#.#', 'S': '###,#..,###,..#,###', 'T': '###,.#.,.#.,.#.,.#.', 'U': '#.#,#.#,#.#,#.#,###', 'V': '#.#,#.#,#.#,#.#,.#.',
  'W': '#.#,#.#,###,###,#.#', 'X': '#.#,#.#,.#.,#.#,#.#', 'Y': '#.#,#.#,.#.,.#.,.#.', 'Z': '###,..#,.#.,#..,###',
};

const PALETTE: Array<[number, number, number]> = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [255, 127, 14], [148, 103, 189], [140, 86, 75]];

export interface PlotPanel {
  readonly title: string;
  readonly series: ReadonlyArray<{ readonly name: string; readonly points: ReadonlyArray<readonly [number, number]> }>;
}

class Canvas {
  readonly rgb: Uint8Array;
  constructor(readonly width: number, readonly height: number) {
    this.rgb = new Uint8Array(width * height * 3).fill(255);
  }
  dot(x: number, y: number, c: readonly number[]): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.rgb.set(c, (y * this.width + x) * 3);
  }
  /** A 2-pixel-wide line (Bresenham-like stepping by the longer axis). */
  line(x0: number, y0: number, x1: number, y1: number, c: readonly number[], thick = 1): void {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      for (let d = 0; d < thick; d++) {
        this.dot(x, y + d, c);
        this.dot(x + d, y, c);
      }
    }
  }
  text(x: number, y: number, s: string, scale = 2, c: readonly number[] = [0, 0, 0]): void {
    for (const ch of s.toUpperCase()) {
      const g = FONT[ch] ?? FONT[' '];
      g.split(',').forEach((row, r) => [...row].forEach((p, k) => {
        if (p === '#') for (let a = 0; a < scale; a++) for (let b = 0; b < scale; b++) this.dot(x + k * scale + a, y + r * scale + b, c);
      }));
      x += 4 * scale;
    }
  }
}

const label = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/** Panels in a grid of 3 columns (x: the first series' x range, y: each panel's own range), legend below. */
export function linePlotsPng(panels: readonly PlotPanel[], panelW = 320, panelH = 220): Buffer {
  const cols = 3;
  const rows = Math.ceil(panels.length / cols);
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  const legendH = 30;
  const c = new Canvas(cols * panelW, rows * panelH + legendH);
  panels.forEach((panel, i) => {
    const ox = (i % cols) * panelW;
    const oy = Math.floor(i / cols) * panelH;
    const left = ox + 52;
    const right = ox + panelW - 12;
    const top = oy + 28;
    const bottom = oy + panelH - 28;
    const pts = panel.series.flatMap((s) => s.points);
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    const x0 = Math.min(...xs, 0);
    const x1 = Math.max(...xs, 1);
    let y0 = Math.min(...ys);
    let y1 = Math.max(...ys);
    if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
    if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
    const pad = (y1 - y0) * 0.05;
    y0 -= pad;
    y1 += pad;
    const X = (x: number): number => left + ((x - x0) / (x1 - x0)) * (right - left);
    const Y = (y: number): number => bottom - ((y - y0) / (y1 - y0)) * (bottom - top);
    c.text(ox + 52, oy + 8, panel.title);
    const grey = [150, 150, 150];
    c.line(left, top, left, bottom, grey);
    c.line(left, bottom, right, bottom, grey);
    c.text(ox + 4, top, label(y1));
    c.text(ox + 4, bottom - 10, label(y0));
    const xl = (v: number): string => (Number.isInteger(v) ? String(v) : label(v));
    c.text(left, bottom + 8, xl(x0));
    c.text(right - 8 * xl(x1).length, bottom + 8, xl(x1));
    panel.series.forEach((s) => {
      const col = PALETTE[names.indexOf(s.name) % PALETTE.length];
      for (let k = 1; k < s.points.length; k++) c.line(X(s.points[k - 1][0]), Y(s.points[k - 1][1]), X(s.points[k][0]), Y(s.points[k][1]), col, 2);
      if (s.points.length === 1) c.line(X(s.points[0][0]) - 2, Y(s.points[0][1]), X(s.points[0][0]) + 2, Y(s.points[0][1]), col, 3);
    });
  });
  let lx = 10;
  names.forEach((n, i) => {
    const col = PALETTE[i % PALETTE.length];
    c.line(lx, rows * panelH + 15, lx + 24, rows * panelH + 15, col, 3);
    c.text(lx + 30, rows * panelH + 10, n);
    lx += 40 + 8 * n.length + 20;
  });
  c.text(c.width - 8 * 14, rows * panelH + 10, 'X EDITS SO FAR');
  return encodePng(c.width, c.height, c.rgb);
}
