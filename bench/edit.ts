import { computeRome } from '../src/engine/methods/rome/index';
import { ROME_GPT2_XL } from '../src/engine/methods/rome/hparams';
import { fakeGpt2Small } from './fakeModel';

/**
 * One ROME edit on a GPT-2-small-shaped random model: 21 context templates, 20 value steps, the
 * covariance statistics given (cached), as ROME's own timing excludes collecting them. The reference
 * takes 45.8 s for this on this machine; the goal is ≤ 11 s.
 */
export async function benchEdit(threads: number): Promise<void> {
  const model = fakeGpt2Small(threads);
  const M = model.config.d_mlp;
  const C = new Float64Array(M * M);
  for (let i = 0; i < M; i++) C[i * M + i] = 1; // cached statistics stand-in: the solve's cost is the same for any SPD C
  const templates = ['{}', ...Array.from({ length: 20 }, (_, i) => `${'abcdefghij'.slice(0, 3 + (i % 7))} ${'klmnopq'.slice(0, 2 + (i % 5))}. {}`)];
  const hparams = { ...ROME_GPT2_XL, layers: [5], v_loss_layer: 11, v_num_grad_steps: 20 };
  const request = { prompt: '{} is in the city of', subject: 'the space needle', target_new: { str: 'rome' } };
  await computeRome(model, request, { hparams: { ...hparams, v_num_grad_steps: 2 }, contextTemplates: templates, secondMoment: async () => C }); // warm-up: sessions
  const t0 = process.hrtime.bigint();
  const r = await computeRome(model, request, { hparams, contextTemplates: templates, secondMoment: async () => C });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`# edit: intra-op threads ${threads}`);
  console.log(`ROME edit (GPT-2-small shape, layer 5, ${templates.length} templates, ${r.details[0].steps.length} value steps, stats cached): ${s.toFixed(2)} s — ${(45.8 / s).toFixed(1)}× the reference's 45.8 s`);
  await model.dispose();
}
