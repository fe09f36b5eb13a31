// `npm run demo`: the headless walk-through on the embedded default model, without VS Code: `locus probe`
// on a demo prompt. The CLI explains what to do when no model is available.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const prompt = process.env.LOCUS_PROMPT ?? 'Angola is located in'; // CounterFact case 20952: the embedded model knows it (Africa)
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const args = [cli, 'probe', '--model', process.env.LOCUS_MODEL ?? 'default', '--prompt', prompt, '--top', '10'];
console.log(`$ locus probe --model ${process.env.LOCUS_MODEL ?? 'default'} --prompt ${JSON.stringify(prompt)}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
