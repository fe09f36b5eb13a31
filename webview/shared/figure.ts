/**
 * A chart's frame: a fixed-height box for the canvas (Chart.js sizes itself to it) and the export
 * buttons (vscode-button, secondary). The panel owns the Chart and redraws into `canvas`.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { h } from './dom';

export interface Figure {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  setHeight(px: number): void;
}

export function figure(id: string, label: string, height: number, onPng: () => void, onCsv: () => void): Figure {
  const canvas = h('canvas', { id: `${id}-canvas`, role: 'img', 'aria-label': label });
  const box = h('div', { class: 'canvas-box', style: `height:${height}px` }, canvas);
  const png = h('vscode-button', { secondary: true, id: `${id}-png`, title: `Save "${label}" as a PNG image` }, 'Export PNG');
  const csvButton = h('vscode-button', { secondary: true, id: `${id}-csv`, title: `Save the data of "${label}" as CSV` }, 'Export CSV');
  png.addEventListener('click', onPng);
  csvButton.addEventListener('click', onCsv);
  const root = h('div', { class: 'figure', id }, box, h('div', { class: 'actions' }, png, csvButton));
  return { root, canvas, setHeight: (px) => (box.style.height = `${px}px`) };
}
