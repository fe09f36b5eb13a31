/**
 * "Export PNG" / "Export CSV": the bytes are made here and sent to the host as `export/save`, which asks
 * where to write them (a webview cannot write files). PNGs carry the chart's background (the charts
 * paint it), so they read the same outside VS Code.
 */
import type { PanelRequests } from '../../src/protocol/panels';
import type { CsvValue } from './csv';
import { csv } from './csv';

export type ExportPost = (message: { readonly type: 'export/save' } & PanelRequests['export/save']) => void;

export function canvasPng(canvas: HTMLCanvasElement): Promise<ArrayBuffer> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? blob.arrayBuffer().then(resolve, reject) : reject(new Error('the chart could not be drawn as PNG'))), 'image/png'),
  );
}

export async function exportPng(post: ExportPost, canvas: HTMLCanvasElement, suggestedName: string): Promise<void> {
  post({ type: 'export/save', suggestedName: `${suggestedName}.png`, mime: 'image/png', data: await canvasPng(canvas) });
}

export function exportCsv(post: ExportPost, rows: ReadonlyArray<readonly CsvValue[]>, suggestedName: string): void {
  post({ type: 'export/save', suggestedName: `${suggestedName}.csv`, mime: 'text/csv', data: csv(rows) });
}
