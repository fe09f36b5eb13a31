import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { defaultDatasetPath, loadCounterFact, loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { romePresetFor } from '../../src/engine/methods/edit/presets/choosePreset';
import { computeRome } from '../../src/engine/methods/rome/index';
import type { RomeLayerDetails, RewriteRequest } from '../../src/engine/methods/rome/index';
import { computeSecondMoment } from '../../src/engine/methods/stats/secondMoment';
import type { SecondMoment } from '../../src/engine/methods/stats/secondMoment';
import { maxAbsDiff, relFrobenius } from '../helpers/assertClose';
import { loadLlamaF64, solveSpdF64 } from '../helpers/llamaF64';
import type { LlamaF64 } from '../helpers/llamaF64';
import { golden } from '../helpers/paths';

/**
 * ROME's k*, C, u and v on llama-tiny-random (grouped-query attention, Llama-3 rope scaling, gated SiLU
 * MLP) against a float64 evaluation of the same formulas (test/helpers/llamaF64.ts: HF's Llama forward in
 * plain float64, weights through the engine's safetensors reader, ids from the engine's tokenizer), ROME
 * at layer 1 so that k* also depends on block 0 and on layer 1's attention:
 * - k* = mean over the context templates of the input of mlp.down_proj at the subject's last token;
 * - C = Σ k kᵀ / count over every token of every statistics document (each tokenized alone, no BOS);
 * - u = C⁻¹k* / ‖C⁻¹k*‖ (the engine's left vector, as kmeng01/rome compute_u);
 * - v*: the float64 ROME objective (compute_v) at the engine's v* equals the loss the engine reported;
 * - v = (v* − W k)/(uᵀk) with k, W k at the prompt itself (compute_v's cur_input / cur_output), hence
 *   ΔW = u vᵀ = (v* − W k)(C⁻¹k*)ᵀ / ((C⁻¹k*)ᵀk).
 *
 * Tolerance: 1e-3 RELATIVE (‖engine − float64‖ / ‖float64‖, or |Δ| / |loss|): the quantities live on
 * different scales (|k*| ~ 1e-1, C ~ 1e-2, v ~ 1e1, the loss ~ 1e1), so one relative bound means the
 * same thing for each. The engine computes activations in float32 (errors ~1e-7 relative) and C⁻¹
 * amplifies them by C's condition number, so its honest error is far below 1e-3, while any formula
 * difference (a wrong token, template, key site, norm or λ) is O(1). Measured (printed with each check):
 * the float64 forward vs forward.json 7.7e-6 (log-probs) and 1.2e-6 (MLP activations) absolute; k* 3.1e-7,
 * C 1.4e-7, u 4.1e-7, loss at v* 9.3e-8 (24.694080 vs 24.694082; 28.05 at v_init), k and W k at the
 * prompt 5e-7, v and ΔW 4.7e-8, all relative. v* gets 60 steps instead of the preset's 200 (the check is
 * of the objective at whatever v* the engine reached; the file runs in ~10 s).
 */
const TOL = 1e-3;
const LAYER = 1;
const TEMPLATES = ['{}', 'The following is a fact. {}', 'I read this in a book. {}'];
const request: RewriteRequest = { prompt: '{} is located in the city of', subject: 'The Space Needle', target_new: { str: ' Kuala Lumpur' } };

const rel = (got: ArrayLike<number>, want: ArrayLike<number>): number => relFrobenius(got, want);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const norm = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a));

describe('ROME on llama-tiny-random agrees with a float64 evaluation of its formulas', () => {
  let model: LoadedModel;
  let ref: LlamaF64;
  let stats: SecondMoment;
  let texts: string[];
  let rome: RomeLayerDetails;
  let loss: number;
  /** ROME's lookup index (repr_tools.get_words_idxs_in_templates): prefix, then " subject", tokenized apart. */
  let lookup: (template: string) => number;
  const encode = (s: string): number[] => model.tokenizer.encode(s).ids;

  before(async () => {
    model = await loadModel(golden('llama-tiny-random'));
    ref = loadLlamaF64(golden('llama-tiny-random'));
    lookup = (template) => {
      const prefix = template.slice(0, template.indexOf('{}'));
      return prefix.length === 0 ? encode(request.subject).length - 1 : encode(prefix.trimEnd()).length + encode(` ${request.subject}`).length - 1;
    };
    // 100 CounterFact statements: 1,055 tokens for a full-rank 64 × 64 C.
    texts = loadCounterFact(defaultDatasetPath()).slice(0, 100).map((r) => r.requested_rewrite.prompt.replace('{}', r.requested_rewrite.subject) + r.requested_rewrite.target_true.str + '.');
    stats = (await computeSecondMoment(model, [LAYER], { name: 'counterfact-100', texts }, { sampleSize: Infinity })).get(LAYER)!;
    const hparams = { ...romePresetFor(model.config).hparams, layers: [LAYER], v_num_grad_steps: 60 };
    const res = await computeRome(model, request, { hparams, contextTemplates: TEMPLATES, secondMoment: async () => stats.mom2 });
    rome = res.details[0];
    loss = rome.steps[rome.steps.length - 1].loss;
  });
  after(async () => model.dispose());

  test('the float64 forward itself reproduces forward.json (logits and every MLP activation, 1e-4 absolute)', (t) => {
    const g = JSON.parse(fs.readFileSync(golden('llama-tiny-random', 'forward.json'), 'utf8')) as { prompts: Array<{ input_ids: number[]; logits_last: number[]; hidden: Record<string, number[][]> }> };
    const p = g.prompts[0];
    const run = ref.run(p.input_ids);
    const T = p.input_ids.length;
    // log-softmax is invariant to a constant shift: compare the golden's logits through the same normalisation.
    const m = Math.max(...p.logits_last);
    const lz = m + Math.log(p.logits_last.reduce((s, v) => s + Math.exp(v - m), 0));
    const dLogits = maxAbsDiff(run.logProbs(T - 1), p.logits_last.map((v) => v - lz));
    let dActs = 0;
    for (let l = 0; l < ref.cfg.layers; l++) {
      dActs = Math.max(dActs, maxAbsDiff(run.mlpPost[l].flatMap((x) => [...x]), p.hidden[`blocks.${l}.mlp.post`].flat()));
      dActs = Math.max(dActs, maxAbsDiff(run.mlpOut[l].flatMap((x) => [...x]), p.hidden[`blocks.${l}.mlp.out`].flat()));
    }
    t.diagnostic(`float64 vs golden: log-probs ${dLogits.toExponential(2)}, mlp.post/mlp.out ${dActs.toExponential(2)}`);
    assert.ok(dLogits <= 1e-4 && dActs <= 1e-4, `${dLogits} ${dActs}`);
  });

  /** k* in float64: the mean over templates of mlp.post at the lookup token. */
  const kStar64 = (): Float64Array => {
    const kStar = new Float64Array(ref.cfg.intermediate);
    for (const tpl of TEMPLATES) {
      const filled = tpl.replace('{}', request.prompt);
      const ids = encode(filled.replace('{}', request.subject));
      const at = lookup(filled);
      // The lookup token is the subject's last: the subject's tokens end there.
      const subj = encode(filled.startsWith('{}') ? request.subject : ` ${request.subject}`);
      assert.deepEqual(ids.slice(at + 1 - subj.length, at + 1), subj, filled);
      ref.run(ids).mlpPost[LAYER][at].forEach((v, j) => (kStar[j] += v / TEMPLATES.length));
    }
    return kStar;
  };
  /** C in float64: Σ k kᵀ / count over every token of every document, each tokenized alone. */
  const secondMoment64 = (): { C: Float64Array; count: number } => {
    const M = ref.cfg.intermediate;
    const sum = new Float64Array(M * M);
    let count = 0;
    for (const text of texts) {
      for (const k of ref.run(encode(text)).mlpPost[LAYER]) {
        count++;
        for (let a = 0; a < M; a++) for (let b = 0; b < M; b++) sum[a * M + b] += k[a] * k[b];
      }
    }
    return { C: sum.map((v) => v / count), count };
  };

  test("k*: the mean MLP key at the subject's last token over the context templates", (t) => {
    const kStar = kStar64();
    const e = rel(rome.kStar, kStar);
    t.diagnostic(`k*: relative error ${e.toExponential(2)} (‖k*‖ ${norm(kStar).toFixed(4)})`);
    assert.ok(e <= TOL, `${e}`);
  });

  test('C: the second moment of the MLP keys over the statistics corpus, and u = C⁻¹k* / ‖C⁻¹k*‖ from float64 C and k*', (t) => {
    const { C, count } = secondMoment64();
    assert.equal(stats.count, count);
    const eC = rel(stats.mom2, C);
    const x = solveSpdF64(C, ref.cfg.intermediate, kStar64());
    const u = x.map((v) => v / norm(x));
    const eU = rel(rome.u, u);
    t.diagnostic(`C: ${count} tokens, relative error ${eC.toExponential(2)}; u: relative error ${eU.toExponential(2)}`);
    assert.ok(eC <= TOL, `C: ${eC}`);
    assert.ok(eU <= TOL, `u: ${eU}`);
  });

  test("v*: the float64 ROME objective at the engine's v* equals the engine's reported loss, and is below its value at v_init", (t) => {
    const h = romePresetFor(model.config).hparams;
    const targetIds = model.tokenizer.encodeContinuation(request.target_new.str).ids;
    assert.ok(targetIds.length >= 2, 'a multi-token target exercises every target position');
    const suffix = model.tokenizer.decode(targetIds.slice(0, -1));
    const rewriting = TEMPLATES.map((tpl) => tpl.replace('{}', request.prompt) + suffix);
    const klPrompt = '{} is a';
    const rows = [...rewriting, klPrompt].map((p) => ({ ids: encode(p.replace('{}', request.subject)), at: lookup(p) }));
    // v_init: the unedited MLP output at the first rewriting prompt's lookup token.
    const vInit = ref.run(rows[0].ids).mlpOut[LAYER][rows[0].at];
    const klRef = (() => {
      const r = rows[rows.length - 1];
      return ref.run(r.ids).logProbs(r.at);
    })();
    /** compute_v's loss: mean NLL of the target over the rewriting prompts + kl_factor·KL(P_δ‖P_0) + decay·‖δ‖/‖v_init‖². */
    const objective = (vStar: Float64Array): number => {
      const delta = vStar.map((v, i) => v - vInit[i]);
      let nll = 0;
      rows.slice(0, -1).forEach((r) => {
        const run = ref.run(r.ids, { layer: LAYER, pos: r.at, delta });
        const T = r.ids.length; // logits at position p predict token p + 1: the last n positions score the target
        targetIds.forEach((id, j) => (nll -= run.logProbs(T - targetIds.length + j)[id] / (targetIds.length * rewriting.length)));
      });
      const r = rows[rows.length - 1];
      const lp = ref.run(r.ids, { layer: LAYER, pos: r.at, delta }).logProbs(r.at);
      let kl = 0;
      lp.forEach((v, i) => (kl += Math.exp(v) * (v - klRef[i])));
      return nll + h.kl_factor * kl + (h.v_weight_decay * norm(delta)) / (norm(vInit) * norm(vInit));
    };
    const at = objective(Float64Array.from(rome.vStar));
    const init = objective(vInit);
    const e = Math.abs(at - loss) / Math.abs(at);
    t.diagnostic(`loss at v*: engine ${loss.toFixed(6)}, float64 ${at.toFixed(6)} (relative error ${e.toExponential(2)}); at v_init ${init.toFixed(4)}; ${rome.steps.length} steps`);
    assert.ok(e <= TOL, `${loss} vs ${at}`);
    assert.ok(at < init - 0.5, `v* did not lower the objective: ${init} → ${at}`);
  });

  test('v = (v* − W k)/(uᵀk) at the prompt, and ΔW = u vᵀ = (v* − W k)(C⁻¹k*)ᵀ/((C⁻¹k*)ᵀk)', (t) => {
    const filled = request.prompt;
    const run = ref.run(encode(filled.replace('{}', request.subject)));
    const at = lookup(filled);
    const k = run.mlpPost[LAYER][at];
    const Wk = run.mlpOut[LAYER][at];
    const eK = rel(rome.kPrompt, k);
    const eWk = rel(rome.vOld, Wk);
    // u from the engine (checked above); v from the float64 k and W k.
    const v = Float64Array.from(rome.vStar, (x, i) => (x - Wk[i]) / dot(rome.u, k));
    const eV = rel(rome.v, v);
    // ΔW from the unnormalised C⁻¹k* (the engine's C and k*, solved in float64): the normalisation of u cancels.
    const x = solveSpdF64(stats.mom2, ref.cfg.intermediate, rome.kStar);
    const scale = 1 / dot(x, k);
    const M = ref.cfg.intermediate;
    const D = ref.cfg.hidden;
    const want = new Float64Array(M * D);
    const got = new Float64Array(M * D);
    for (let a = 0; a < M; a++) {
      for (let d = 0; d < D; d++) {
        want[a * D + d] = x[a] * (rome.vStar[d] - Wk[d]) * scale;
        got[a * D + d] = rome.u[a] * rome.v[d];
      }
    }
    const eW = rel(got, want);
    t.diagnostic(`k at the prompt ${eK.toExponential(2)}, W k ${eWk.toExponential(2)}, v ${eV.toExponential(2)}, ΔW ${eW.toExponential(2)} (relative); uᵀk ${dot(rome.u, k).toFixed(4)}`);
    for (const [what, e] of [['k', eK], ['W k', eWk], ['v', eV], ['ΔW', eW]] as const) assert.ok(e <= TOL, `${what}: ${e}`);
  });
});
