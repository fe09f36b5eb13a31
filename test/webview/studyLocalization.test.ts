/** The Study panel's localization (issue 19 item 2 in the panel): read from the manifest, shown, and kept on Resume. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { resumeParams, studySummary } from '../../src/extension/panels/studyData';
import { effectName, summaryLine } from '../../webview/study/data';

const manifest = (extra: Record<string, unknown>): unknown => ({
  model: { name: 'tiny', n_layers: 2 }, spec: { cases: [7], methods: ['ft'], problems: ['error-injection'], layers: [0], seed: 0 }, ...extra,
});

test('a patching study: summary, header, effect name and Resume params carry it; an older study is noise', () => {
  const s = studySummary('/ws/p', manifest({ localization: 'patching' }), 1);
  assert.equal(s.localization, 'patching');
  assert.equal(effectName(s), 'patching effect');
  assert.match(summaryLine(s), /localization: activation patching/);
  assert.equal(resumeParams('/ws/p', manifest({ localization: 'patching' })).localization, 'patching');

  const old = studySummary('/ws/n', manifest({}), 1);
  assert.equal(old.localization, 'noise');
  assert.equal(effectName(old), 'tracing effect');
  assert.doesNotMatch(summaryLine(old), /localization/);
  assert.equal('localization' in resumeParams('/ws/n', manifest({})), false);
});
