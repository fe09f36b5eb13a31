import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_RECIPE } from './defaultModel';
import type { TrainRecipe } from './defaultModel';

/** The card's lines for the optional statements (relation templates, context prefixes, enrichment). */
function augmentationData(c: TrainRecipe['corpus']): string {
  const lines: string[] = [];
  if (c.templateRepeats) {
    lines.push(`- ${c.templateRepeats} more statements per record and epoch, each in a template of its relation drawn at random (the
  requested prompts of every sample record with the same \`relation_id\`, 3–16 per relation): templates are shared
  across subjects, so recall factors into what the subject's tokens hold and which relation is asked.`);
  }
  if (c.enrichmentRepeats) {
    lines.push(`- ${c.enrichmentRepeats} copies per record and epoch of "subject target_true", whose answer follows the subject's last
  token directly: the fact must be readable there, which is where ROME writes.`);
  }
  if (c.prefixedShare) {
    lines.push(`- Each fact statement is put, with probability ${c.prefixedShare}, after a context prefix (1–${c.prefixMaxWords ?? 10} consecutive
  WikiText words + ". ", the shape of ROME's context templates), so recall does not depend on position 0.`);
  }
  return lines.length ? '\n' + lines.join('\n') : '';
}

export interface ModelCardFacts {
  readonly trainingMinutes: number;
  readonly tokensPerSecond: number;
  readonly machine: string;
  readonly epochLog: ReadonlyArray<Record<string, number>>;
  readonly accuracy: { rewrite: number; paraphrase: number; neighborhood: number; records: number };
  readonly parameters: number;
  readonly folderBytes: number;
  readonly date: string;
}

/** MODEL_CARD.md for the embedded default model: data, architecture, measured training time, accuracies, how to reproduce. */
export function writeModelCard(dir: string, f: ModelCardFacts, R: TrainRecipe = DEFAULT_RECIPE): void {
  const c = R.config;
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const epochs = f.epochLog
    .map((e) => `| ${e['epoch']} | ${e['step']} | ${(e['loss'] ?? NaN).toFixed(3)} | ${pct(e['rewrite'] ?? NaN)} | ${pct(e['paraphrase'] ?? NaN)} | ${((e['seconds'] ?? NaN) / 60).toFixed(1)} |`)
    .join('\n');
  const text = `# Locus embedded default model

A small GPT-2-architecture language model that Locus trains itself and ships, so that Causal Tracing
and knowledge editing work in the first minute, offline. It **knows CounterFact facts**: it was trained
on the true fact of each record of the bundled CounterFact sample, mixed with WikiText-2 text.
It is a research fixture, not a general-purpose language model.

## Architecture
Hugging Face \`gpt2\` (\`GPT2LMHeadModel\` layout, tied embeddings): ${c.n_layer} layers, d_model ${c.n_embd},
${c.n_head} heads, d_mlp ${4 * c.n_embd}, context ${c.n_positions} tokens, vocabulary ${c.vocab_size}
(a byte-level BPE trained on the same corpus, \`tokenizer.json\`). ${f.parameters.toLocaleString('en-US')} parameters,
float32; folder size ${(f.folderBytes / 1e6).toFixed(1)} MB.${R.rationale ? '\n' + R.rationale : ''}

## Data
- CounterFact (Meng et al. 2022, MIT licence): the 2,191-record sample in \`assets/data/counterfact_sample.json\`
  (the \`azhx/counterfact\` test split). Per record and epoch: the requested prompt completed with
  \`target_true\` (${R.corpus.requestedRepeats}×), each paraphrase prompt with \`target_true\` (${R.corpus.paraphraseRepeats}×),
  the 10 neighborhood prompts with \`target_true\`, and ${R.corpus.attributesPerEpoch} of the 10 attribute prompts
  (rotating) with \`target_new\` (their subjects' true object). Answer tokens weigh ${R.corpus.answerWeight}× in the loss.${augmentationData(R.corpus)}
- WikiText-2 raw (Merity et al. 2016, CC BY-SA 3.0): \`wiki.valid.raw\` and \`wiki.test.raw\`, headings
  dropped, cut into ${R.corpus.chunkTokens}-token chunks.

## Training
AdamW (lr ${R.train.lr}, ${R.train.warmupSteps} warm-up steps, cosine to ${R.train.minLrRatio}×, weight decay ${R.train.weightDecay} on
matrices, gradient clipping ${R.train.clipNorm}), ${R.train.tokensPerBatch} tokens per batch, ${R.train.epochs} epochs, seed ${R.seed};
every step one ONNX graph (forward + reverse-mode gradient built by Locus's own autodiff) run by onnxruntime-node.

**Measured:** ${f.trainingMinutes.toFixed(1)} minutes on ${f.machine} (${f.tokensPerSecond.toFixed(0)} tokens/s), ${f.date}.

| epoch | step | loss (EMA) | top-1 requested (300 records) | top-1 paraphrase | minutes |
|---|---|---|---|---|---|
${epochs}

## Accuracy (top-1 of \`target_true\`'s first token, \`locus eval\` over all ${f.accuracy.records} records)
| prompts | accuracy |
|---|---|
| requested prompt | ${pct(f.accuracy.rewrite)} |
| paraphrase prompts | ${pct(f.accuracy.paraphrase)} |
| neighborhood prompts | ${pct(f.accuracy.neighborhood)} |

All of these prompts were in the training data: the numbers say the model *knows* the facts, which is
what tracing and editing need, not that it generalizes.

## Reproduce
\`\`\`
npm install
npm run train:default-model      # resumable: interrupt and rerun; --fresh starts over
node dist/cli.js eval --model default --json
\`\`\`
The run is deterministic for the recipe's seed on a given machine (ORT's CPU kernels may round
differently on other processors).
`;
  fs.writeFileSync(path.join(dir, 'MODEL_CARD.md'), text);
}
