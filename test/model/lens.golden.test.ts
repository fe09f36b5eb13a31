import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadModel, logitLens } from '../../src/engine/index';
import type { LensResult, LoadedModel } from '../../src/engine/index';
import { openSafetensors } from '../../src/engine/model/safetensors';
import { golden } from '../helpers/paths';

/**
 * Logit lens parity (issue 19 acceptance): every layer's and position's decoded distribution equals
 * log_softmax(W_U · ln_final(resid_post_l)) computed here in float64 from the golden forward's
 * recorded hidden states (`prompts[0].hidden["blocks.{l}.resid_post"]`, HF's block outputs) and the
 * final norm / unembedding read straight from model.safetensors under their HF names — written from
 * HF's modeling files, not from the engine. Tolerance 1e-4 absolute on log-probs (the golden forward's
 * own tolerance). The last layer's reference is first checked against HF's recorded logits_last, so
 * the reference itself is known right.
 */
const ATOL = 1e-4;
const TOP = 5;
const ANSWER = ' Seattle';

type Norm = 'layernorm' | 'rmsnorm' | 'rmsnorm-one-plus';

/** Each family's final norm and head under its HF names (modeling_gpt2 / _gpt_neox / _llama / _gemma). */
interface HeadSpec {
  readonly norm: Norm;
  readonly weight: string;
  readonly bias?: string;
  readonly epsKey: string;
  /** lm_head first when the checkpoint has one (untied), else the tied embedding. */
  readonly unembed: readonly string[];
}

const CASES: Record<string, HeadSpec> = {
  'gpt2-facts-trained': { norm: 'layernorm', weight: 'transformer.ln_f.weight', bias: 'transformer.ln_f.bias', epsKey: 'layer_norm_epsilon', unembed: ['lm_head.weight', 'transformer.wte.weight'] },
  'llama-tiny-random': { norm: 'rmsnorm', weight: 'model.norm.weight', epsKey: 'rms_norm_eps', unembed: ['lm_head.weight', 'model.embed_tokens.weight'] },
  // Gemma's RMSNorm scales by (1 + w) (modeling_gemma.py GemmaRMSNorm).
  'gemma-tiny-random': { norm: 'rmsnorm-one-plus', weight: 'model.norm.weight', epsKey: 'rms_norm_eps', unembed: ['lm_head.weight', 'model.embed_tokens.weight'] },
  // Untied: GPT-NeoX's head is embed_out.
  'neox-tiny-random': { norm: 'layernorm', weight: 'gpt_neox.final_layer_norm.weight', bias: 'gpt_neox.final_layer_norm.bias', epsKey: 'layer_norm_eps', unembed: ['embed_out.weight'] },
};

interface GoldenForward {
  prompts: { prompt: string; input_ids: number[]; logits_last: number[]; hidden: Record<string, number[][]> }[];
}

/** log_softmax(W_U · norm(h)) in float64 for one hidden state h [d_model]. */
function referenceHead(folder: string, spec: HeadSpec): (h: readonly number[]) => Float64Array {
  const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as Record<string, number>;
  const eps = config[spec.epsKey];
  const store = openSafetensors(folder);
  const w = Float64Array.from(store.read(spec.weight).data);
  const b = spec.bias ? Float64Array.from(store.read(spec.bias).data) : undefined;
  const head = spec.unembed.find((n) => store.has(n))!;
  const [V, d] = store.shape(head);
  const U = store.read(head).data; // [d_vocab, d_model], HF nn.Linear / nn.Embedding layout
  store.close();
  return (h) => {
    const n = h.length;
    let mean = 0;
    if (spec.norm === 'layernorm') mean = h.reduce((a, x) => a + x, 0) / n;
    const centred = h.map((x) => x - mean);
    const sq = centred.reduce((a, x) => a + x * x, 0) / n;
    const r = 1 / Math.sqrt(sq + eps);
    const x = centred.map((v, i) => v * r * (spec.norm === 'rmsnorm-one-plus' ? 1 + w[i] : w[i]) + (b ? b[i] : 0));
    const logits = new Float64Array(V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += U[v * d + i] * x[i];
      logits[v] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (const s of logits) sum += Math.exp(s - max);
    const lse = max + Math.log(sum);
    return logits.map((s) => s - lse);
  };
}

function logSoftmax64(row: readonly number[]): Float64Array {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((a, s) => a + Math.exp(s - max), 0));
  return Float64Array.from(row, (s) => s - lse);
}

const descending = (a: Float64Array): Float64Array => Float64Array.from(a).sort().reverse();

for (const [name, spec] of Object.entries(CASES)) {
  describe(`logit lens parity: ${name}`, () => {
    const ref = JSON.parse(fs.readFileSync(golden(name, 'forward.json'), 'utf8')) as GoldenForward;
    const p = ref.prompts[0];
    let model: LoadedModel;
    let lens: LensResult;
    let head: (h: readonly number[]) => Float64Array;
    before(async () => {
      model = await loadModel(golden(name));
      lens = await logitLens(model, p.prompt, { top: TOP, answer: ANSWER });
      head = referenceHead(golden(name), spec);
    });
    after(async () => model.dispose());

    test('the reference head reproduces HF\'s recorded last-position logits', (t) => {
      const L = model.config.n_layers;
      const last = p.hidden[`blocks.${L - 1}.resid_post`];
      const mine = head(last[last.length - 1]);
      const hf = logSoftmax64(p.logits_last);
      let worst = 0;
      for (let v = 0; v < hf.length; v++) worst = Math.max(worst, Math.abs(mine[v] - hf[v]));
      t.diagnostic(`max |diff| log-probs ${worst}`);
      assert.ok(worst <= ATOL, `reference head vs HF logits_last: ${worst}`);
    });

    test(`every layer × position: top-${TOP} and the answer's log-prob and rank within ${ATOL}`, (t) => {
      assert.deepEqual(lens.ids, p.input_ids);
      assert.equal(lens.layers.length, model.config.n_layers);
      let worst = 0;
      for (const { layer, positions } of lens.layers) {
        const hidden = p.hidden[`blocks.${layer}.resid_post`];
        assert.equal(positions.length, hidden.length);
        positions.forEach((cell, pos) => {
          const want = head(hidden[pos]);
          const where = `layer ${layer}, position ${pos}`;
          assert.equal(cell.top.length, TOP);
          for (const c of cell.top) worst = Math.max(worst, Math.abs(c.logprob - want[c.id]));
          // Highest first, and really the top: the i-th entry is the reference's i-th largest.
          const sorted = descending(want);
          cell.top.forEach((c, i) => assert.ok(Math.abs(c.logprob - sorted[i]) <= ATOL, `${where}: entry ${i} ${c.logprob} vs ${sorted[i]}`));
          const a = cell.answer!;
          worst = Math.max(worst, Math.abs(a.logprob - want[a.id]));
          const rankLo = 1 + want.filter((x) => x > want[a.id] + ATOL).length;
          const rankHi = 1 + want.filter((x) => x > want[a.id] - ATOL).length;
          assert.ok(a.rank >= rankLo && a.rank <= rankHi, `${where}: answer rank ${a.rank} outside [${rankLo}, ${rankHi}]`);
          assert.ok(Math.abs(a.prob - Math.exp(a.logprob)) < 1e-12);
        });
      }
      t.diagnostic(`max |diff| log-probs ${worst}`);
      assert.ok(worst <= ATOL, `max |diff| ${worst} > ${ATOL}`);
    });
  });
}
