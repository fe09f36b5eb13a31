import { loadModel, probe } from '../../engine/index';
import { intFlag, parseFlags, requireFlag } from '../args';
import type { CliIO } from '../io';

export const probeHelp = `locus probe [--model M] --prompt TEXT [--top K=10] [--json]

The next-token distribution after the last token of TEXT.
  --model M     a Hugging Face model folder, or "default" (the embedded model; the default)
  --prompt TEXT the prompt
  --top K       how many candidates to list (default 10)
  --threads N   intra-op threads (default: cores, at most 4)
  --json        print JSON: { model, tokens, ids, top: [{ id, token, prob, logprob }] }`;

export async function probeCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseFlags(argv, { model: { type: 'string' }, prompt: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' }, threads: { type: 'string' } }, 'probe');
  if (values.help) return io.out(probeHelp);
  const prompt = requireFlag(values.prompt as string | undefined, 'prompt', 'probe');
  const top = intFlag(values.top as string | undefined, 'top', 10);
  const threads = values.threads === undefined ? undefined : intFlag(values.threads as string, 'threads', 1);
  const model = await loadModel((values.model as string | undefined) ?? 'default', { threads });
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
