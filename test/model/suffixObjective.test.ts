import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { buildObjectiveGraph } from '../../src/engine/autodiff/objective';
import { forward } from '../../src/engine/interp/forward';
import { forwardContext } from '../../src/engine/interp/probe';
import { evaluateResidObjective, klLogitsAt, rewriteObjectiveFeeds } from '../../src/engine/methods/deltaOptimizer';
import { suffixInputs, suffixObjectiveFits } from '../../src/engine/methods/suffixObjective';
import { lookupIndex } from '../../src/engine/methods/rome/lookup';

/**
 * ROME's v* objective on each row's suffix (positions before the lookup token as cached keys/values)
 * against the whole padded batch (the graph test/model/objective.test.ts checks by finite
 * differences): the same loss terms and ∂/∂δ at δ = 0 and at a random δ, on the embedded model,
 * rows of different lengths and lookups (ROME's context templates), from layers 1 and 5.
 */
describe('suffix objective (past keys/values) equals the full-batch objective', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadModel('default');
  });
  after(async () => {
    await model.dispose();
  });

  for (const layer of [1, 5]) {
    test(`v* objective from layer ${layer + 1}`, async () => {
      const cfg = model.config;
      const tok = model.tokenizer;
      const D = cfg.d_model;
      assert.ok(suffixObjectiveFits(cfg, layer + 1));
      const subject = 'Danielle Darrieux';
      const targetIds = tok.encodeContinuation(' French language').ids;
      const suffix = tok.decode(targetIds.slice(0, -1));
      const templates = ['{}', 'The city. {}', 'I went to the market and then. {}', 'Because. {}'];
      const all = [...templates.map((t) => t.replace('{}', 'The mother tongue of {} is') + suffix), '{} is a'];
      const rows = all.map((p) => tok.encode(p.replace('{}', subject)).ids);
      const lookups = all.map((p) => lookupIndex(tok, p, subject, 'subject_last'));
      assert.ok(new Set(lookups).size > 1 && new Set(rows.map((r) => r.length)).size > 1, 'rows of different lengths and lookups');
      const post = `blocks.${layer}.resid_post` as const;
      const base = await forward(forwardContext(model), rows, { fetch: [post], logitsAt: klLogitsAt(rows, lookups), keysValues: true });
      const cut = suffixInputs(cfg, base.acts.get(post)!, base.lengths, lookups, base.kv!, layer + 1);
      assert.ok(cut);
      assert.ok(cut.layout.width < Math.max(...rows.map((r) => r.length)) / 2, `suffix width ${cut.layout.width}`);

      const run = async (past: boolean) => {
        const spec = { fromLayer: layer + 1, kl: true, gradResid: true, past };
        const graph = buildObjectiveGraph(cfg, (n) => model.param(n), spec);
        const session = await model.sessions.getCustom(`test.objective.${layer}.${past}`, (p) => buildObjectiveGraph(cfg, p, spec).spec);
        const feeds = { ...rewriteObjectiveFeeds(cfg, rows, lookups, targetIds, base.logits!, 0.0625, past ? cut.layout : undefined), ...(past ? cut.feeds : {}) };
        const delta = new Float32Array(D).map((_, j) => Math.sin(j * 1.7) * 0.5);
        return [
          await evaluateResidObjective(session, graph.outputs, feeds, past ? cut.resid : base.acts.get(post)!, past ? cut.lookups : lookups, new Float32Array(D)),
          await evaluateResidObjective(session, graph.outputs, feeds, past ? cut.resid : base.acts.get(post)!, past ? cut.lookups : lookups, delta),
        ];
      };
      const full = await run(false);
      const suffixRun = await run(true);
      full.forEach((f, k) => {
        const s = suffixRun[k];
        // float32 sums in another order: 1e-5 relative on the loss terms, 1e-4 of the largest gradient entry.
        for (const key of ['objective', 'nll', 'kl'] as const) assert.ok(Math.abs(f[key] - s[key]) <= 1e-5 * Math.max(1, Math.abs(f[key])), `${key}: ${f[key]} vs ${s[key]}`);
        const scale = Math.max(...f.grad.map(Math.abs));
        const worst = Math.max(...f.grad.map((g, j) => Math.abs(g - s.grad[j])));
        assert.ok(scale > 0 && worst <= 1e-4 * scale, `max |Δgrad| ${worst} of ${scale}`);
      });
    });
  }

  test('rotary or grouped-query models keep the full batch', () => {
    const cfg = model.config;
    assert.equal(suffixObjectiveFits({ ...cfg, n_kv_heads: 1 }, 1), false);
    assert.equal(suffixObjectiveFits(cfg, cfg.n_layers), false, 'no block to run above the last');
  });
});
