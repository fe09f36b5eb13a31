/**
 * "Export PNG" of a map: the table drawn again on a canvas (a DOM table cannot be saved as an image
 * from a webview), with the theme's background so it reads outside VS Code. Cells carry the same colours
 * and texts as on screen; drawn at 2× for sharp text.
 */
import type { LensResultDto } from '../../src/protocol/panels/lens';
import { luminance } from '../shared/colour';
import type { ThemeColours } from '../shared/theme';
import { answerColour, answerText, cellToken, percent, topColour } from './data';

const SCALE = 2;
const CELL_W = 92;
const CELL_H = 24;
const LEFT = 48;
const TOP = 58;

/** Cuts `text` until it fits `width` pixels in the context's font. */
function fit(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text;
  let t = text;
  while (t.length > 1 && ctx.measureText(t + '…').width > width) t = t.slice(0, -1);
  return t + '…';
}

export function drawMap(r: LensResultDto, which: 'top' | 'answer', title: string, colours: ThemeColours): HTMLCanvasElement {
  const T = r.tokens.length;
  const L = r.layers.length;
  const width = LEFT + T * CELL_W + 12;
  const height = TOP + L * CELL_H + 12;
  const canvas = document.createElement('canvas');
  canvas.width = width * SCALE;
  canvas.height = height * SCALE;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('the map could not be drawn as PNG');
  ctx.scale(SCALE, SCALE);
  ctx.fillStyle = colours.background;
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = colours.foreground;
  ctx.font = `bold 13px ${colours.font}`;
  ctx.textBaseline = 'middle';
  ctx.fillText(fit(ctx, title, width - 16), 8, 14);
  ctx.font = `11px ${colours.font}`;
  ctx.textAlign = 'center';
  r.tokens.forEach((tok, t) => ctx.fillText(fit(ctx, JSON.stringify(tok), CELL_W - 6), LEFT + t * CELL_W + CELL_W / 2, TOP - 12));
  ctx.fillText('layer', LEFT / 2, TOP - 12);
  r.layers.forEach(({ layer, positions }, l) => {
    const y = TOP + l * CELL_H;
    ctx.fillStyle = colours.foreground;
    ctx.fillText(String(layer), LEFT / 2, y + CELL_H / 2);
    positions.forEach((p, t) => {
      const x = LEFT + t * CELL_W;
      const best = p.top[0];
      const fill = which === 'top' ? topColour(best.prob) : answerColour(p.answer?.prob ?? 0);
      ctx.fillStyle = fill;
      ctx.fillRect(x, y, CELL_W - 1, CELL_H - 1);
      ctx.fillStyle = luminance(fill) > 0.35 ? '#1e1e1e' : '#ffffff';
      const text = which === 'top' ? `${cellToken(best.token)} ${percent(best.prob)}` : p.answer ? answerText(p.answer) : '';
      ctx.fillText(fit(ctx, text, CELL_W - 6), x + CELL_W / 2, y + CELL_H / 2);
    });
  });
  return canvas;
}
