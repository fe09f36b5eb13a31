/**
 * The HTML shell of every webview panel: a strict Content-Security-Policy (no inline script, scripts only
 * with this load's nonce, styles and images from the extension's dist/ folder and the webview itself),
 * the panel's esbuild bundle `dist/webview/<name>.js`, and VS Code's theme variables (the bundle styles
 * itself with var(--vscode-*)). `data-origin` on #root is the PanelOrigin the webview keeps in its state.
 */
import * as crypto from 'node:crypto';
import type * as vscode from 'vscode';

export function nonce(): string {
  return crypto.randomBytes(16).toString('base64');
}

export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri, bundle: string, title: string, joinPath: (base: vscode.Uri, ...p: string[]) => vscode.Uri, origin: unknown = null): string {
  const n = nonce();
  const script = webview.asWebviewUri(joinPath(extensionUri, 'dist', 'webview', `${bundle}.js`));
  const css = webview.asWebviewUri(joinPath(extensionUri, 'dist', 'webview', `${bundle}.css`));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data: blob:`,
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${n}'`,
  ].join('; ');
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${esc(title)}</title>
<link rel="stylesheet" href="${css}">
</head>
<body>
<div id="root" data-bundle="${esc(bundle)}" data-origin="${esc(JSON.stringify(origin))}"></div>
<script nonce="${n}" src="${script}"></script>
</body>
</html>`;
}
