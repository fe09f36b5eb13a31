import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_RECIPE } from '../../../src/engine/train/defaultModel';
import type { TrainRecipe } from '../../../src/engine/train/defaultModel';
import { writeModelCard } from '../../../src/engine/train/modelCard';
import type { ModelCardFacts } from '../../../src/engine/train/modelCard';

const facts: ModelCardFacts = {
  trainingMinutes: 39.55,
  tokensPerSecond: 3439.4,
  machine: '2 × test CPU, 24 GiB',
  epochLog: [{ epoch: 0, step: 944, loss: 4.881, rewrite: 0.223, paraphrase: 0.238, seconds: 468 }],
  accuracy: { rewrite: 0.992, paraphrase: 0.997, neighborhood: 0.889, records: 2191 },
  parameters: 3805760,
  folderBytes: 15.5e6,
  date: '2026-11-28',
};

function cardFor(recipe: TrainRecipe): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locus-card-'));
  try {
    writeModelCard(dir, facts, recipe);
    return fs.readFileSync(path.join(dir, 'MODEL_CARD.md'), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('model card', () => {
  test("states the recipe's shape, its rationale, and the measured time in the form the default-model test reads", () => {
    const card = cardFor(DEFAULT_RECIPE);
    assert.match(card, /8 layers, d_model 160,\n5 heads, d_mlp 640/);
    assert.match(card, /3,805,760 parameters/);
    assert.ok(card.includes(DEFAULT_RECIPE.rationale), 'the rationale is in the card');
    assert.equal(Number(/\*\*Measured:\*\* ([\d.]+) minutes/.exec(card)?.[1]), 39.5);
    assert.match(card, /\| requested prompt \| 99\.2% \|/);
    assert.match(card, /\| 0 \| 944 \| 4\.881 \| 22\.3% \| 23\.8% \| 7\.8 \|/);
  });

  test('a recipe without a rationale gets no rationale line', () => {
    const { rationale: _rationale, ...plain } = DEFAULT_RECIPE;
    const card = cardFor(plain);
    assert.ok(!card.includes('The shape was chosen'));
    assert.match(card, /folder size 15\.5 MB\.\n\n## Data/);
  });
});
