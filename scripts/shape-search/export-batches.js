// Writes the default recipe's training batches (every epoch, in order) as flat gzip'd arrays, so that a PyTorch
// replica of Locus's trainer (train_replica.py) trains on exactly the batches `npm run train:default-model` uses.
// Usage (after `npx tsc -p .`): node scripts/shape-search/export-batches.js OUT_DIR [L D H]
//   with L D H: also writes OUT_DIR/init.safetensors, the recipe's own initialization for that shape.
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const root = path.resolve(__dirname, '..', '..');
const E = (p) => require(path.join(root, 'out', 'src', 'engine', p));
const { DEFAULT_RECIPE, initGpt2Params, recipeExamples } = E('train/defaultModel');
const { epochBatches } = E('train/lmTrainer');
const { loadTokenizer } = E('model/tokenizer');
const { parseConfig } = E('model/config');
const { gpt2HfTensors } = E('model/arch/exportGpt2');
const { writeSafetensors } = E('model/safetensors');
const { defaultDatasetPath, loadCounterFact } = E('data/counterfact');

const [out, L, D, H] = process.argv.slice(2);
if (!out) throw new Error('usage: export-batches.js OUT_DIR [n_layer n_embd n_head]');
const R = DEFAULT_RECIPE;
fs.mkdirSync(out, { recursive: true });
const tok = loadTokenizer(path.join(root, 'assets', 'default-model'));
const wikiTexts = ['wiki.valid.raw', 'wiki.test.raw'].map((f) => fs.readFileSync(path.join(root, 'assets', 'data', 'wikitext-2-raw', f), 'utf8'));
// The trainer's own functions (trainDefaultModel, trainLm), so the batches are the ones it trains on.
const corpus = recipeExamples(R, loadCounterFact(defaultDatasetPath()), wikiTexts, tok);
const ids = [], wts = [], lens = [], bsz = [], perEpoch = [];
for (let epoch = 0; epoch < R.train.epochs; epoch++) {
  const batches = epochBatches(corpus.epoch(epoch), { seed: R.seed, tokensPerBatch: R.train.tokensPerBatch }, epoch);
  perEpoch.push(batches.length);
  for (const b of batches) {
    bsz.push(b.length);
    for (const e of b) {
      lens.push(e.ids.length);
      ids.push(...e.ids);
      if (!e.weights.every((w) => Number.isInteger(w) && w >= 0 && w < 256)) throw new Error('weights must be small integers to travel as uint8');
      wts.push(...e.weights, 0); // weights[t] weighs the prediction of ids[t + 1]; one pad keeps ids and weights aligned
    }
  }
}
const write = (name, arr) => fs.writeFileSync(path.join(out, name), zlib.gzipSync(Buffer.from(arr.buffer)));
write('ids.u16.gz', Uint16Array.from(ids));
write('wts.u8.gz', Uint8Array.from(wts));
write('lens.u16.gz', Uint16Array.from(lens));
write('bsz.u16.gz', Uint16Array.from(bsz));
fs.writeFileSync(path.join(out, 'meta.json'), JSON.stringify({ epochBatches: perEpoch, recipe: R, tokens: ids.length }));
if (L) {
  const cfg = parseConfig({ ...R.config, n_layer: +L, n_embd: +D, n_head: +H, eos_token_id: R.config.vocab_size - 1 }, 'shape');
  const { params, shapes } = initGpt2Params(cfg, R.seed);
  writeSafetensors(path.join(out, 'init.safetensors'), gpt2HfTensors(cfg, (n) => ({ shape: shapes.get(n), data: params.get(n) })), { format: 'pt' });
}
console.log(`${out}: ${bsz.length} batches (${perEpoch.join(' + ')}), ${ids.length} tokens`);
