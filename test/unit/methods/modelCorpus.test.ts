import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { defaultDatasetPath, fillPrompt, loadCounterFact } from '../../../src/engine/data/counterfact';
import { defaultModelDir } from '../../../src/engine/model/locate';
import { defaultStatsCorpus } from '../../../src/engine/methods/stats/corpus';
import { defaultStatsCorpusFor, embeddedModelStatsCorpus, isEmbeddedModelFolder } from '../../../src/engine/methods/stats/modelCorpus';
import { golden } from '../../helpers/paths';

describe('default statistics corpus per model', () => {
  test('the embedded model: WikiText-2 rows, then each record\'s requested statement and its attribute statements', () => {
    const wiki = defaultStatsCorpus().texts;
    const records = loadCounterFact(defaultDatasetPath());
    const c = embeddedModelStatsCorpus();
    const statements = records.reduce((n, r) => n + 1 + r.attribute_prompts.length, 0);
    assert.equal(c.texts.length, wiki.length + statements);
    assert.deepEqual(c.texts.slice(0, wiki.length), wiki);
    const r0 = records[0];
    assert.equal(c.texts[wiki.length], `${fillPrompt(r0)} ${r0.requested_rewrite.target_true.str}`);
    assert.equal(c.texts[wiki.length + 1], `${r0.attribute_prompts[0]} ${r0.requested_rewrite.target_new.str}`);
    // Paraphrase prompts are what generalization is scored on: never part of C. (Neighborhood statements are,
    // where CounterFact drew one record's neighbor as another's attribute prompt: 7,605 of 21,910.)
    const paraphrases = new Set(records.flatMap((r) => r.paraphrase_prompts.map((p) => `${p} ${r.requested_rewrite.target_true.str}`)));
    assert.equal(c.texts.filter((t) => paraphrases.has(t)).length, 0);
    const neighbors = new Set(records.flatMap((r) => r.neighborhood_prompts.map((p) => `${p} ${r.requested_rewrite.target_true.str}`)));
    assert.ok(c.texts.some((t) => neighbors.has(t)));
  });

  test('the embedded folder is recognised by its location on disk, other folders get WikiText-2', () => {
    const embedded = defaultModelDir();
    assert.ok(embedded);
    assert.equal(isEmbeddedModelFolder(embedded), true);
    assert.equal(isEmbeddedModelFolder(path.join(embedded, '.', '..', path.basename(embedded))), true);
    assert.equal(defaultStatsCorpusFor(embedded).name, 'embedded-model-training-text');
    const other = golden('gpt2-facts-trained');
    assert.equal(isEmbeddedModelFolder(other), false);
    assert.equal(isEmbeddedModelFolder(path.join(other, 'no-such-folder')), false);
    assert.equal(defaultStatsCorpusFor(other).name, defaultStatsCorpus().name);
  });
});
