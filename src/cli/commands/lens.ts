import type { LensResult } from '../../engine/index';
import { logitLens } from '../../engine/index';
import { intFlag, parseFlags, requireFlag, UsageError } from '../args';
import type { CliIO } from '../io';
import { MODEL_FLAGS, MODEL_FLAGS_HELP, openModel } from '../openModel';

export const lensHelp = `locus lens [--model M] --prompt TEXT [--top K=5] [--answer TEXT] [--json]

Logit lens: what each layer already "says". Every layer's residual stream (blocks.{l}.resid_post) at
every position is decoded through the model's own final norm and unembedding; the last layer's row is
the model's own next-token distribution.
  --prompt TEXT  the prompt
  --top K        tokens per layer and position (default 5)
  --answer TEXT  also follow this answer's first token (a leading space added when missing):
                 its rank and probability at every layer and position
${MODEL_FLAGS_HELP}
  --json         print JSON: { tokens, ids, layers: [{ layer, positions: [{ top: [{ id, token, logprob, prob }],
                 answer?: { id, token, logprob, prob, rank } }] }] }`;

/** A token quoted and cut to `width` characters. */
function quoted(token: string, width: number): string {
  const t = JSON.stringify(token);
  return t.length > width ? t.slice(0, width - 1) + '…' : t;
}

/** A cell's text: the token and its probability as a percentage. */
function cell(token: string, prob: number, width: number): string {
  return `${quoted(token, width - 5)} ${Math.round(prob * 100)}%`.padEnd(width);
}

/** Layers as rows, positions as columns (the usual logit-lens picture, input at the bottom turned to the top). */
function printTable(io: CliIO, r: LensResult, cellOf: (l: number, t: number) => string, width: number): void {
  const head = 'layer'.padEnd(6) + r.tokens.map((tok) => quoted(tok, width).padEnd(width)).join(' ');
  io.out(head.trimEnd());
  for (const { layer, positions } of r.layers) io.out((String(layer).padEnd(6) + positions.map((_, t) => cellOf(layer, t)).join(' ')).trimEnd());
}

export async function lensCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseFlags(argv, { ...MODEL_FLAGS, prompt: { type: 'string' }, top: { type: 'string' }, answer: { type: 'string' }, json: { type: 'boolean' } }, 'lens');
  if (values.help) return io.out(lensHelp);
  const prompt = requireFlag(values.prompt as string | undefined, 'prompt', 'lens');
  if (prompt === '') throw new UsageError('--prompt is empty: give some text');
  const top = intFlag(values.top as string | undefined, 'top', 5, 1, 1000);
  const answer = values.answer as string | undefined;
  if (answer !== undefined && answer.trim() === '') throw new UsageError('--answer is empty');
  const model = await openModel(values, io);
  try {
    const result = await logitLens(model, prompt, { top, answer });
    if (values.json) return io.out(JSON.stringify(result, null, 2));
    const width = 16;
    io.out(`logit lens — ${model.manifest.name}: top-1 token and its probability per layer (rows) and position (columns)`);
    printTable(io, result, (l, t) => {
      const best = result.layers[l].positions[t].top[0];
      return cell(best.token, best.prob, width);
    }, width);
    if (result.answer) {
      io.out('');
      io.out(`answer ${JSON.stringify(result.answer.token)} (id ${result.answer.id}): rank and probability per layer and position`);
      printTable(io, result, (l, t) => {
        const a = result.layers[l].positions[t].answer!;
        return `#${a.rank} ${a.prob < 0.01 ? a.prob.toExponential(0) : (a.prob * 100).toFixed(0) + '%'}`.padEnd(width);
      }, width);
    }
  } finally {
    await model.dispose();
  }
}
