/**
 * VS Code's theme colours for canvases (Chart.js cannot read CSS variables itself). VS Code sets the
 * --vscode-* variables on <html> and the theme kind as a class on <body>; when either changes the
 * charts are redrawn with the new values.
 */
export interface ThemeColours {
  readonly foreground: string;
  readonly muted: string;
  readonly background: string;
  readonly grid: string;
  readonly font: string;
  /** Distinct line colours (VS Code's charts.* colours), for methods. */
  readonly series: readonly string[];
}

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const v = style.getPropertyValue(name).trim();
  return v === '' ? fallback : v;
}

export function themeColours(): ThemeColours {
  const s = getComputedStyle(document.documentElement);
  const dark = document.body.classList.contains('vscode-dark') || document.body.classList.contains('vscode-high-contrast');
  return {
    foreground: cssVar(s, '--vscode-editor-foreground', dark ? '#cccccc' : '#333333'),
    muted: cssVar(s, '--vscode-descriptionForeground', dark ? '#9d9d9d' : '#717171'),
    background: cssVar(s, '--vscode-editor-background', dark ? '#1e1e1e' : '#ffffff'),
    grid: cssVar(s, '--vscode-editorWidget-border', cssVar(s, '--vscode-panel-border', dark ? '#454545' : '#c8c8c8')),
    font: cssVar(s, '--vscode-font-family', 'system-ui, sans-serif'),
    series: [
      cssVar(s, '--vscode-charts-blue', '#3794ff'),
      cssVar(s, '--vscode-charts-orange', '#d18616'),
      cssVar(s, '--vscode-charts-purple', '#b180d7'),
      cssVar(s, '--vscode-charts-red', '#f14c4c'),
      cssVar(s, '--vscode-charts-green', '#89d185'),
      cssVar(s, '--vscode-charts-yellow', '#cca700'),
    ],
  };
}

/** Calls back (once per burst of changes) when the theme's variables or kind change. */
export function onThemeChange(callback: () => void): void {
  let pending = false;
  const fire = (): void => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      callback();
    });
  };
  const observer = new MutationObserver(fire);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
