/**
 * How sizes read wherever Locus shows them (the CLI's `locus models`, the extension's model picker):
 * one definition, so the two never disagree. Pure functions: every process may import them.
 */

/** 3482048 → "3.5M", 1235814400 → "1.24B"; undefined (unknown) → "?". */
export function formatCount(n: number | undefined): string {
  if (n === undefined) return '?';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** Bytes in binary units, as the rest of Locus reports memory (GiB). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
