import { probe } from '../../engine/index';
import { intFlag, parseFlags, requireFlag } from '../args';
import type { CliIO } from '../io';
import { MODEL_FLAGS, MODEL_FLAGS_HELP, openModel } from '../openModel';

export const probeHelp = `locus probe [--model M] --prompt TEXT [--top K=10] [--json]

The next-token distribution after the last token of TEXT.
  --prompt TEXT the prompt
  --top K       how many candidates to list (default 10)
${MODEL_FLAGS_HELP}
  --json        print JSON: { model, tokens, ids, top: [{ id, token, prob, logprob }] }`;

export async function probeCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseFlags(argv, { ...MODEL_FLAGS, prompt: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' } }, 'probe');
  if (values.help) return io.out(probeHelp);
  const prompt = requireFlag(values.prompt as string | undefined, 'prompt', 'probe');
  const top = intFlag(values.top as string | undefined, 'top', 10, 1, 1000);
  const model = await openModel(values, io);
  try {
    const result = await probe(model, prompt, top);
    if (values.json) return io.out(JSON.stringify(result, null, 2));
    io.out(`model   ${result.model.name} (${result.model.architecture}, ${result.model.n_layers} layers, d_model ${result.model.d_model})`);
    io.out(`tokens  ${result.tokens.map((t) => JSON.stringify(t)).join(' ')}`);
    io.out('next token:');
    for (const t of result.top) io.out(`  ${(t.prob * 100).toFixed(2).padStart(6)}%  ${JSON.stringify(t.token).padEnd(20)} id ${t.id}`);
  } finally {
    await model.dispose();
  }
}
