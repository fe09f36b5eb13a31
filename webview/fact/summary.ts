/** The fact itself: the prompt with the subject marked, the targets, and the top-k next tokens. */
import type { ProbeResultDto } from '../../src/protocol/dto';
import type { FactView, ModelSummary } from '../../src/protocol/panels/fact';
import { byId, clear, h } from '../shared/dom';
import { shownToken } from '../shared/gridData';
import { prob } from '../shared/editData';

export function renderFact(fact: FactView | null, model: ModelSummary | null, saved: { file: string; created: string } | undefined): void {
  const title = fact ? (fact.caseId !== undefined ? `Fact ${fact.caseId}: ${fact.subject}` : `Trace: ${fact.subject}`) : 'Fact';
  byId('title').textContent = title;
  document.title = title;
  const badge = byId('model-badge');
  badge.textContent = model ? `${model.name} · ${model.n_layers} layers` : '';
  badge.hidden = !model;
  const note = byId('saved-note');
  note.textContent = saved ? `Saved run of ${new Date(saved.created).toLocaleString()} (${saved.file}); open the fact from the Facts view to run again.` : '';
  note.hidden = !saved;
  const prompt = byId('prompt');
  clear(prompt);
  if (!fact) return;
  const end = fact.subjectStart + fact.subject.length;
  prompt.append(fact.prompt.slice(0, fact.subjectStart), h('mark', {}, fact.prompt.slice(fact.subjectStart, end)), fact.prompt.slice(end));
  const targets = byId('targets');
  clear(targets);
  if (fact.targetTrue !== undefined) targets.append('true: ', h('strong', {}, fact.targetTrue));
  if (fact.targetNew !== undefined) targets.append('  →  new: ', h('strong', {}, fact.targetNew));
  if (fact.relationId) targets.append(`  (${fact.relationId})`);
}

export function renderTopK(probe: ProbeResultDto | undefined): void {
  const body = byId('top-k').querySelector('tbody')!;
  clear(body);
  for (const [i, t] of (probe?.top ?? []).entries()) {
    body.append(
      h('tr', { 'data-token': t.token, 'data-prob': t.prob },
        h('td', { class: 'num' }, i + 1),
        h('td', {}, h('code', { class: 'token' }, `"${shownToken(t.token)}"`)),
        h('td', { class: 'num', title: `log p = ${t.logprob}` }, prob(t.prob)),
      ),
    );
  }
}
