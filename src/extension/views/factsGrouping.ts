/** The Facts view's pure part: filtering and grouping CounterFact records by relation. */
import type { DatasetRecordDto } from '../../protocol/dto';

export type FactNode = { readonly kind: 'relation'; readonly relation: string; readonly template: string; readonly records: readonly DatasetRecordDto[] } | { readonly kind: 'fact'; readonly record: DatasetRecordDto };

/** Case-insensitive match on subject, targets, relation id, template or "#id" / id. */
export function matchesFilter(r: DatasetRecordDto, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (!f) return true;
  const id = f.replace(/^#/, '');
  if (/^\d+$/.test(id)) return String(r.case_id) === id;
  return [r.subject, r.target_true, r.target_new, r.relation_id, r.prompt].some((s) => s.toLowerCase().includes(f));
}

/** Relations sorted by id (numerically: P17 before P103), facts in file order. */
export function groupByRelation(records: readonly DatasetRecordDto[], filter: string): FactNode[] {
  const groups = new Map<string, DatasetRecordDto[]>();
  for (const r of records) {
    if (!matchesFilter(r, filter)) continue;
    const g = groups.get(r.relation_id);
    if (g) g.push(r);
    else groups.set(r.relation_id, [r]);
  }
  const num = (id: string) => Number(id.replace(/\D/g, '')) || 0;
  return [...groups.entries()].sort(([a], [b]) => num(a) - num(b) || a.localeCompare(b)).map(([relation, recs]) => ({ kind: 'relation', relation, template: recs[0].prompt, records: recs }));
}
