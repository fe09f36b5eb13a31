// `node scripts/make-default-stats.js` (after `npx tsc -p .`): the embedded model's key statistics C for
// every layer, shipped in assets/default-model/stats/ so that a user's first ROME or MEMIT edit computes
// none (issue 17 item 3). Computed exactly as a first edit would compute them: the embedded model's
// default statistics corpus (its training text, stats/modelCorpus.ts), ROME's defaults (mom2_n_samples
// 100,000, maxLength n_ctx, batch 3·n_ctx), written by the statistics cache itself in its own layout, so the
// file names carry the model fingerprint, the corpus sha256 and the settings: after retraining the model
// or changing the corpus they no longer match, are ignored, and this script must be run again.
//
//   node scripts/make-default-stats.js [--layers 0,1,...]   # default: every layer
const fs = require('node:fs');
const path = require('node:path');

const repo = path.resolve(__dirname, '..');
const out = path.join(repo, 'out', 'src', 'engine');
const need = (p) => {
  const file = path.join(out, p);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npx tsc -p .\` first`);
  return require(file);
};

async function main() {
  const { loadModel } = need('index.js');
  const { embeddedModelStatsCorpus } = need('methods/stats/modelCorpus.js');
  const { loadOrComputeSecondMoment } = need('methods/stats/statsCache.js');
  const { MODEL_STATS_FOLDER } = need('methods/stats/cacheLocation.js');
  const modelDir = path.join(repo, 'assets', 'default-model');
  const statsDir = path.join(modelDir, MODEL_STATS_FOLDER);
  const model = await loadModel(modelDir);
  try {
    const i = process.argv.indexOf('--layers');
    const layers = i >= 0 ? process.argv[i + 1].split(',').map(Number) : Array.from({ length: model.config.n_layers }, (_, l) => l);
    // Stale entries (another fingerprint or corpus) would only take space in the package.
    fs.rmSync(statsDir, { recursive: true, force: true });
    const t0 = Date.now();
    let last = 0;
    await loadOrComputeSecondMoment(model, layers, embeddedModelStatsCorpus(), {
      cacheDir: statsDir,
      readOnlyDirs: [],
      log: (line) => console.log(line),
      onProgress: (done, total) => {
        if (Date.now() - last > 10_000 || done === total) {
          last = Date.now();
          console.log(`${done}/${total} documents, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        }
      },
    });
    let bytes = 0;
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else bytes += fs.statSync(path.join(d, e.name)).size;
      }
    };
    walk(statsDir);
    console.log(`wrote layers ${layers.join(', ')} to ${statsDir} (${(bytes / 2 ** 20).toFixed(1)} MiB) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await model.dispose();
  }
}

main().catch((e) => {
  console.error(`make-default-stats: ${e.message}`);
  process.exit(1);
});
