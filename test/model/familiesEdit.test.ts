import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import * as path from 'node:path';
import { defaultDatasetPath, EditStack, exportModel, forward, forwardContext, loadCounterFact, loadModel, runEdit } from '../../src/engine/index';
import type { EditMethod, FactCase, LoadedModel } from '../../src/engine/index';
import type { ParamName } from '../../src/engine/model/names';
import type { StatsCorpus } from '../../src/engine/methods/stats/corpus';
import { golden, tempDir } from '../helpers/paths';

/**
 * ROME, MEMIT, FT-1 and FT-5 on every new family's golden through runEdit with the family's presets
 * (presets/smallModel.ts: ROME at layer 0, MEMIT's window below the last block, FT centred on ROME's
 * layer), Error Injection of "The Space Needle is located in the city of" → " Paris". Edits go through
 * RMSNorm (and Gemma's 1 + w), gated SiLU / GeGLU MLPs, grouped-query attention, q/k biases and norms,
 * and NeoX's parallel residual (gradients checked by finite differences in
 * test/unit/model/archGradients.test.ts). Each edit must raise the target's log-probability by more than
 * RISE nats and revert every weight and logit bit for bit.
 *
 * Measured target_new log-probs (before → after; context templates below, key statistics over 300
 * CounterFact statements):
 *
 *   family   ROME (layer 0)     MEMIT (window)          FT-1               FT-5
 *   llama    −17.89 → −15.95    −17.89 → −17.18 (0–1)   −17.89 → −15.16    −17.89 → −12.17
 *   mistral  −18.03 → −11.49    −18.03 → −12.91 (0)     −18.03 → −17.03    −18.03 → −16.22
 *   qwen2    −15.00 → −14.03    −15.00 → −12.91 (0)     −15.00 → −11.75    −15.00 → −10.51
 *   qwen3    −12.49 →  −9.34    −12.49 →  −9.09 (0)     −12.49 → −10.96    −12.49 → −10.09
 *   gemma    −10.99 →  −8.24    −10.99 →  −9.94 (0)     −10.99 →  −9.96    −10.99 →  −9.51
 *   neox     −15.77 → −11.94    −15.77 → −12.20 (0)     −15.77 →  −8.73    −15.77 →  −4.57
 *
 * Why MEMIT's window ends below the last block (presets/smallModel.ts belowLastBlock): z is optimized at
 * the window's top layer at the subject's last token, and only a later block's attention carries it to
 * the prompt's end. With the 5-layer window 0–2 of llama's 3 blocks, z's NLL stayed at 19.019 for all
 * 100 steps and the edit lowered the target (−17.89 → −18.38); that was the failure this test used to
 * tolerate.
 *
 * On these random models an edit's effect is the intended change at the subject's token plus the rank-one
 * (or MEMIT) update leaking to the prompt's other tokens: the keys of a random MLP are not selective
 * (on llama at layer 0, uᵀk at "city" is −0.5 × uᵀk at "Needle"), so the leak's sign depends on the
 * context templates (with ROME's 21 sampled templates at layer 0: −17.89 → −19.49, while v* applied only
 * at the subject's token gives −16.39). The test therefore fixes three context templates (the CLI's
 * --context-templates; sampling them costs ~13 s per model) rather than sampling.
 */
const FAMILIES = ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'neox'];
const TEMPLATES = ['{}', 'The following is a fact. {}', 'I read this in a book. {}'];
const METHODS: EditMethod[] = ['rome', 'memit', 'ft', 'ft5'];
/** Smallest rise asserted, in nats; the smallest measured is llama's MEMIT (0.71). */
const RISE = 0.5;

const fact: FactCase = {
  prompt: '{} is located in the city of', subject: 'The Space Needle', target_new: { str: ' Paris' }, target_true: { str: ' Seattle' },
  paraphrase_prompts: ['Where is {}? It is in'], neighborhood_prompts: ['The Eiffel Tower is located in the city of'],
};

// Key statistics over 300 CounterFact statements: enough tokens for a full-rank second moment of every family's d_mlp (≤ 128).
let corpus: StatsCorpus;
before(() => {
  const texts = loadCounterFact(defaultDatasetPath()).slice(0, 300).map((r) => r.requested_rewrite.prompt.replace('{}', r.requested_rewrite.subject) + r.requested_rewrite.target_true.str + '. ' + r.paraphrase_prompts.join(' '));
  corpus = { name: 'counterfact-300', texts };
});

for (const family of FAMILIES) {
  describe(`editing ${family}-tiny-random through runEdit`, () => {
    let model: LoadedModel;
    let tmp: string;
    let probe: number[];
    before(async () => {
      model = await loadModel(golden(`${family}-tiny-random`));
      tmp = tempDir(`locus-${family}-edit-`);
      probe = model.tokenizer.encode('The Space Needle is located in the city of').ids;
    });
    after(async () => {
      await model.dispose();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    for (const method of METHODS) {
      test(`${method}: the target's log-probability rises, and reverting restores every weight and logit bit for bit`, async (t) => {
        const logits = async (m: LoadedModel): Promise<Float32Array> => (await forward(forwardContext(m), [probe], { logits: 'all' })).logits!.data;
        const before = (await logits(model)).slice();
        // W_out of every block, and its bias where the family has one (NeoX; FT trains it as the reference's FT does).
        const touchable = Array.from({ length: model.config.n_layers }, (_, l): ParamName[] => [`blocks.${l}.mlp.W_out`, ...(model.config.arch.mlpBias ? [`blocks.${l}.mlp.b_out` as const] : [])]).flat();
        const weights = touchable.map((p) => model.param(p).data.slice());
        // One statistics cache per family: ROME and MEMIT share layer 0's C.
        const out = await runEdit(model, { method, problem: 'error-injection', cases: [fact], contextTemplates: TEMPLATES, cacheDir: path.join(tmp, 'stats'), statsCorpus: corpus });
        // runEdit leaves the model as it was: apply its edit (as data) to look at the edited model.
        const stack = new EditStack(model);
        await stack.apply(out.edit);
        try {
          t.diagnostic(`${family} ${method} (layers ${out.layers.join(', ')}): target_new log-prob ${out.pre.targetNewLogprob.toFixed(3)} → ${out.post.targetNewLogprob.toFixed(3)}`);
          assert.ok(out.post.targetNewLogprob > out.pre.targetNewLogprob + RISE, `${out.pre.targetNewLogprob} → ${out.post.targetNewLogprob}`);
          const params = out.deltas.map((d) => d.param);
          assert.ok(params.every((p) => touchable.includes(p)), params.join(', '));
          if (method === 'memit') assert.ok(Math.max(...out.layers) < model.config.n_layers - 1, `MEMIT window ${out.layers.join(', ')} reaches the last block`);
          const edited = await logits(model);
          assert.notDeepEqual(edited, before);
          if (method === 'rome') {
            // --save: the edited model in the family's own HF layout, which loads back to the same function.
            const dir = path.join(tmp, 'saved');
            exportModel(model, dir, { note: 'test' });
            const copy = await loadModel(dir);
            try {
              assert.deepEqual(await logits(copy), edited);
            } finally {
              await copy.dispose();
            }
          }
        } finally {
          await stack.revertAll();
        }
        assert.deepEqual(await logits(model), before);
        touchable.forEach((p, i) => assert.deepEqual(model.param(p).data, weights[i], p));
      });
    }
  });
}
