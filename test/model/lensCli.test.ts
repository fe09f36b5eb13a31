import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import { golden } from '../helpers/paths';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface LensJson {
  tokens: string[];
  ids: number[];
  answer?: { id: number; token: string; text: string };
  layers: { layer: number; positions: { top: { id: number; token: string; logprob: number; prob: number }[]; answer?: { id: number; rank: number; logprob: number; prob: number } }[] }[];
}

/**
 * `locus lens` on gpt2-facts-trained: the JSON shape CONTRACTS.md fixes ("Next": tokens, ids,
 * layers[l].positions[t].top[{ id, token, logprob }]), its last layer at the last position equal to
 * HF's own next-token distribution (forward.json top20, 1e-4), the text table, and bad input → 2.
 * Numeric parity at every layer is lens.golden.test.ts.
 */
describe('locus lens (gpt2-facts-trained)', () => {
  const model = golden('gpt2-facts-trained');
  const ref = JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', 'forward.json'), 'utf8')) as { prompts: { prompt: string; input_ids: number[]; tokens: string[]; top20: { ids: number[]; logprobs: number[] } }[] };
  const p = ref.prompts[0];

  test('--json: the fixed shape; the last layer at the last position is the model\'s own top-3 (HF top20, 1e-4)', async () => {
    const r = await run(['lens', '--model', model, '--prompt', p.prompt, '--top', '3', '--answer', 'Seattle', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as LensJson;
    assert.deepEqual(j.ids, p.input_ids);
    assert.deepEqual(j.tokens, p.tokens);
    assert.deepEqual(j.layers.map((l) => l.layer), [0, 1, 2, 3, 4, 5]);
    for (const { positions } of j.layers) {
      assert.equal(positions.length, p.input_ids.length);
      for (const cell of positions) {
        assert.equal(cell.top.length, 3);
        for (const c of cell.top) {
          assert.ok(Number.isInteger(c.id) && typeof c.token === 'string' && c.logprob <= 0 && Math.abs(Math.exp(c.logprob) - c.prob) < 1e-12);
        }
        assert.ok(cell.top[0].logprob >= cell.top[1].logprob && cell.top[1].logprob >= cell.top[2].logprob, 'highest first');
        assert.ok(cell.answer && Number.isInteger(cell.answer.rank) && cell.answer.rank >= 1 && cell.answer.id === j.answer!.id);
        if (cell.answer.rank === 1) assert.equal(cell.answer.id, cell.top[0].id);
      }
    }
    assert.equal(j.answer!.token, ' Seattle', 'a leading space is added to the answer');
    const last = j.layers[5].positions[p.input_ids.length - 1].top;
    assert.deepEqual(last.map((c) => c.id), p.top20.ids.slice(0, 3));
    last.forEach((c, i) => assert.ok(Math.abs(c.logprob - p.top20.logprobs[i]) <= 1e-4, `top ${i}: ${c.logprob} vs ${p.top20.logprobs[i]}`));
  });

  test('text: one row per layer under the prompt\'s tokens, and the answer table', async () => {
    const r = await run(['lens', '--model', model, '--prompt', p.prompt, '--answer', ' Seattle']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    const header = lines.findIndex((l) => l.startsWith('layer'));
    assert.ok(lines[header].includes('" Space"') && lines[header].includes('" city"'));
    for (let l = 0; l < 6; l++) assert.match(lines[header + 1 + l], new RegExp(`^${l}\\s+"`));
    assert.ok(r.out.includes('answer " Seattle"'));
    assert.match(r.out, /#\d+ /);
  });

  test('bad input exits 2 with one line', async () => {
    for (const args of [['--top', '0'], ['--answer', ' '], []]) {
      const r = await run(['lens', '--model', model, ...(args.length ? ['--prompt', 'x', ...args] : [])]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
      assert.equal(r.err.split('\n').length, 1, r.err);
    }
  });
});
