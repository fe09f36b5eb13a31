import { computeRome } from '../src/engine/methods/rome/index';
import { ROME_GPT2_XL } from '../src/engine/methods/rome/hparams';
import { fakeGpt2Small } from './fakeModel';

/**
 * One ROME edit on a GPT-2-small-shaped random model: 21 context templates, 20 value steps, the
 * covariance statistics given (cached), as ROME's own timing excludes collecting them. The warm-up edit
 * also factors C once; the timed edit reuses the factor, as the reference reuses its in-memory C⁻¹
 * (rome/compute_u.py inv_mom2_cache) for every edit after the first at a layer. The reference
 * takes 45.8 s for this on this machine; the goal is ≤ 11 s.
 */
export async function benchEdit(threads: number): Promise<void> {
  const model = fakeGpt2Small(threads);
  const M = model.config.d_mlp;
  const C = new Float64Array(M * M);
  for (let i = 0; i < M; i++) C[i * M + i] = 1; // cached statistics stand-in: the solve's cost is the same for any SPD C
  // The toy tokenizer gives one token per letter, so the strings are sized to GPT-2 BPE token counts:
  // ROME's templates are "{}" + 10 of ~5 tokens + 10 of ~10 tokens, its prompts ~10 tokens.
  const templates = ['{}', ...Array.from({ length: 10 }, (_, i) => `${'abcdefghij'.slice(i % 3, 4 + (i % 3))}. {}`), ...Array.from({ length: 10 }, (_, i) => `${'abcdefghijklm'.slice(i % 3, 9 + (i % 3))}. {}`)];
  const hparams = { ...ROME_GPT2_XL, layers: [5], v_loss_layer: 11, v_num_grad_steps: 20 };
  const request = { prompt: '{} isincity', subject: 'abc', target_new: { str: 'r' } }; // 3 + 8 prompt tokens; target " r" = 2 tokens
  await computeRome(model, request, { hparams: { ...hparams, v_num_grad_steps: 2 }, contextTemplates: templates, secondMoment: async () => C }); // warm-up: sessions
  const t0 = process.hrtime.bigint();
  const r = await computeRome(model, request, { hparams, contextTemplates: templates, secondMoment: async () => C });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`# edit: intra-op threads ${threads}`);
  console.log(`ROME edit (GPT-2-small shape, layer 5, ${templates.length} templates, ${r.details[0].steps.length} value steps, stats cached): ${s.toFixed(2)} s — ${(45.8 / s).toFixed(1)}× the reference's 45.8 s`);
  await model.dispose();
}
