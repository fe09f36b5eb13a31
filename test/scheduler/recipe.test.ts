/**
 * The README's Slurm recipe as slurm.test.ts reads and shrinks it. Runs without Slurm, so a README
 * edit that the Slurm test could no longer follow fails here on every machine.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { readmeRecipe, shrinkStudy, unshardedCommand } from './recipe';

const README = `intro
<!-- slurm-recipe:array — note -->
\`\`\`bash
#!/bin/bash
#SBATCH --array=0-7 --cpus-per-task=2
node dist/cli.js study run --cases known:400 --methods rome,ft --layers all \\
  --shard \${SLURM_ARRAY_TASK_ID}/\${SLURM_ARRAY_TASK_COUNT} --out runs/study-shard-\${SLURM_ARRAY_TASK_ID}
\`\`\`
<!-- slurm-recipe:merge -->
\`\`\`bash
node dist/cli.js study merge runs/study-shard-* --out runs/study
\`\`\`
`;

test('readmeRecipe returns the fenced block after its marker', () => {
  assert.equal(readmeRecipe('merge', README), 'node dist/cli.js study merge runs/study-shard-* --out runs/study\n');
  assert.match(readmeRecipe('array', README), /^#!\/bin\/bash\n#SBATCH --array=0-7 /);
  assert.throws(() => readmeRecipe('kubernetes', README), /no "<!-- slurm-recipe:kubernetes" marker/);
});

test('shrinkStudy changes only the array size and the study flags', () => {
  const s = shrinkStudy(readmeRecipe('array', README), { shards: 2, cases: 'known:4', methods: 'ft', layers: '1,3' });
  assert.equal(s, `#!/bin/bash
#SBATCH --array=0-1 --cpus-per-task=2
node dist/cli.js study run --cases known:4 --methods ft --layers 1,3 \\
  --shard \${SLURM_ARRAY_TASK_ID}/\${SLURM_ARRAY_TASK_COUNT} --out runs/study-shard-\${SLURM_ARRAY_TASK_ID}
`);
  assert.equal(unshardedCommand(s, 'runs/whole'), 'node dist/cli.js study run --cases known:4 --methods ft --layers 1,3 --out runs/whole');
  assert.throws(() => shrinkStudy('--cases a --cases b', { shards: 1, cases: 'x', methods: 'y', layers: 'z' }), /--array once \(found 0\)/);
});

test('the README holds a Slurm job array and merge lines the Slurm test can run', () => {
  const array = readmeRecipe('array');
  assert.match(array, /^#!\/bin\/bash\n/);
  // The shard count is --array's size: a task reads it from Slurm, so the two cannot disagree.
  assert.match(array, /--shard \$\{SLURM_ARRAY_TASK_ID\}\/\$\{SLURM_ARRAY_TASK_COUNT\}/);
  const small = shrinkStudy(array, { shards: 2, cases: 'known:4', methods: 'ft', layers: '1,3' });
  assert.match(unshardedCommand(small, 'runs/u'), /^node dist\/cli\.js study run .*--out runs\/u$/);
  const merge = readmeRecipe('merge');
  assert.match(merge, /study merge runs\/study-shard-\* --out runs\/study\n/);
  assert.match(merge, /study analyze runs\/study\n/);
});
