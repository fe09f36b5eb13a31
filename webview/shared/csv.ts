/**
 * CSV text for the panels' "Export CSV" buttons (pure). RFC 4180: fields with a comma, quote, CR or LF
 * are quoted and quotes doubled; lines end with CRLF so spreadsheet tools on every platform agree.
 * Numbers are written in full precision (what the table's data-value holds), null/undefined as empty.
 */
export type CsvValue = string | number | boolean | null | undefined;

export function csvField(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  // A leading =, +, - or @ would be run as a formula by spreadsheet tools; prefix text (not numbers) with '.
  const safe = typeof v === 'string' && /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csv(rows: ReadonlyArray<readonly CsvValue[]>): string {
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** A file-name-friendly slug of a subject or label (export file names). */
export const fileSlug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40) || 'locus';
