import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultDatasetPath, evaluateFacts, loadCounterFact, loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { repoRoot } from '../helpers/paths';

/**
 * The shipped embedded model (issue 3's acceptance): it loads through the same Hugging Face loader,
 * it knows the CounterFact facts it was trained on (top-1 of target_true's first token ≥ 90% on the
 * requested prompts, ≥ 60% on paraphrases, over 200 records), and its folder stays ≤ 25 MB.
 * CI never retrains; this reads the committed folder.
 */
describe('embedded default model', () => {
  const dir = path.join(repoRoot, 'assets', 'default-model');
  let model: LoadedModel;
  before(async () => (model = await loadModel('default')));
  after(async () => model.dispose());

  test('"default" resolves to assets/default-model, a GPT-2 folder of at most 25 MB with its card', () => {
    assert.equal(model.manifest.path, dir);
    assert.equal(model.config.modelType, 'gpt2');
    const bytes = fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    assert.ok(bytes <= 25e6, `${bytes} bytes`);
    const card = fs.readFileSync(path.join(dir, 'MODEL_CARD.md'), 'utf8');
    const minutes = Number(/\*\*Measured:\*\* ([\d.]+) minutes/.exec(card)?.[1]);
    assert.ok(minutes > 0 && minutes <= 60, `training time in the card: ${minutes} min`);
  });

  test('knows the facts of 200 CounterFact records: requested ≥ 90%, paraphrase ≥ 60%', async () => {
    const records = loadCounterFact(defaultDatasetPath()).slice(0, 200);
    const { accuracy } = await evaluateFacts(model, records, {});
    assert.ok(accuracy.rewrite >= 0.9, `requested-prompt accuracy ${accuracy.rewrite}`);
    assert.ok(accuracy.paraphrase >= 0.6, `paraphrase accuracy ${accuracy.paraphrase}`);
  });
});
