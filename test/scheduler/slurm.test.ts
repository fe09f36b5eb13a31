/**
 * Issue 17 item 5: a study on a real scheduler. Starts a one-node Slurm cluster on this machine
 * (cluster.ts), submits the README's job array (recipe.ts reads it from README.md; only the study's
 * size changes) for a tiny study, waits, runs the README's merge and analyze lines, and checks that
 * the merged folder equals an unsharded run of the same command, record for record, number for number.
 *
 * The study is FT only: ROME and MEMIT first compute the embedded model's key statistics (minutes on
 * a 2-core machine), which is not what this test is about; sharding does not depend on the method.
 */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot, tempDir } from '../helpers/paths';
import type { SlurmCluster } from './cluster';
import { slurmSkipReason, startSlurm, submit, waitForArray } from './cluster';
import { readmeRecipe, shrinkStudy, unshardedCommand } from './recipe';

const run = promisify(execFile);

/** 4 known facts × FT × 2 layers = 8 edits, in 2 shards of 2 facts. */
const SIZE = { shards: 2, cases: 'known:4', methods: 'ft', layers: '1,3' } as const;

interface Row {
  readonly caseId: number;
  readonly seconds?: number;
  readonly [k: string]: unknown;
}

/** results.jsonl without the wall-clock `seconds`, the one field that differs between runs. */
function results(dir: string): Row[] {
  return fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const { seconds: _s, ...row } = JSON.parse(l) as Row;
    return row;
  });
}

async function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await run('bash', ['-euo', 'pipefail', '-c', script], { cwd, env, timeout: 300_000, maxBuffer: 16 << 20 })).stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${script.trim()}\nfailed: ${err.message}\n${err.stderr ?? ''}`);
  }
}

const skip = slurmSkipReason();

test('the README\'s Slurm job array runs a sharded study whose merge equals the unsharded run', { skip, timeout: 600_000 }, async (t) => {
  const cli = path.join(repoRoot, 'dist', 'cli.js');
  assert.ok(fs.existsSync(cli), `${cli} is missing: run "npm run compile" first`);
  const root = tempDir('locus-slurm-');
  const work = path.join(root, 'work');
  fs.mkdirSync(work);
  // The recipe runs `node dist/cli.js` from the repository's folder; here `dist` is a link to it, so
  // runs/ and .locus/ land in the temporary folder.
  fs.symlinkSync(path.join(repoRoot, 'dist'), path.join(work, 'dist'));
  let cluster: SlurmCluster | undefined;
  let unsharded: Promise<void> | undefined;
  const t0 = Date.now();
  const lap = (what: string, since: number): void => t.diagnostic(`${what}: ${((Date.now() - since) / 1000).toFixed(1)} s`);
  try {
    cluster = await startSlurm(path.join(root, 'cluster'), 2 * SIZE.shards);
    lap('cluster up', t0);
    // sbatch hands the submitter's environment to the tasks: `node` on PATH, statistics cache off the user's home.
    const env: NodeJS.ProcessEnv = {
      ...cluster.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, XDG_CACHE_HOME: path.join(root, 'cache'),
    };

    const script = shrinkStudy(readmeRecipe('array'), SIZE);
    fs.writeFileSync(path.join(work, 'study.sbatch'), script);
    const tArray = Date.now();
    const jobId = await submit({ ...cluster, env }, path.join(work, 'study.sbatch'), work);
    // The unsharded reference runs beside the array (on a machine with spare cores, in the same time).
    unsharded = bash(unshardedCommand(script, 'runs/unsharded'), work, env).then(() => lap('unsharded run', tArray));
    unsharded.catch(() => undefined); // awaited below; a failing array must not make it an unhandled rejection
    const tasks = await waitForArray(cluster, jobId, SIZE.shards, 480_000);
    lap(`array job ${jobId} (${SIZE.shards} tasks)`, tArray);
    for (const task of tasks) {
      const out = path.join(work, `slurm-${jobId}_${task.taskId}.out`);
      const log = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '(no output file)';
      assert.ok(task.state === 'COMPLETED' && task.exitCode === '0:0', `task ${task.taskId}: ${task.state} exit ${task.exitCode}\n${log}`);
    }
    assert.deepEqual(tasks.map((x) => x.taskId), Array.from({ length: SIZE.shards }, (_, i) => i));

    const tMerge = Date.now();
    const analyzed = await bash(readmeRecipe('merge'), work, env);
    lap('merge and analyze', tMerge);

    await unsharded;

    const merged = results(path.join(work, 'runs', 'study'));
    const whole = results(path.join(work, 'runs', 'unsharded'));
    const spec = (JSON.parse(fs.readFileSync(path.join(work, 'runs', 'unsharded', 'manifest.json'), 'utf8')) as { spec: { cases: number[] } }).spec;
    assert.equal(spec.cases.length, 4);
    assert.equal(whole.length, 8, 'the unsharded run: 4 facts × 1 method × 2 layers');
    // Bit for bit: every edit is seeded by itself (trace noise seed 1, the edit's own seed), so a fact's
    // numbers do not depend on which process ran it or what ran before.
    assert.deepEqual(merged, whole);
    // Each shard ran exactly its cases (index % n == i of the known-fact list).
    for (let i = 0; i < SIZE.shards; i++) {
      const ids = [...new Set(results(path.join(work, 'runs', `study-shard-${i}`)).map((r) => r.caseId))];
      assert.deepEqual(ids, spec.cases.filter((_, k) => k % SIZE.shards === i), `shard ${i}'s cases`);
    }

    // The analysis of the merged folder is the unsharded one: the README's text output and the JSON.
    const analyze = async (dir: string, json: boolean): Promise<string> =>
      (await run(process.execPath, ['dist/cli.js', 'study', 'analyze', dir, ...(json ? ['--json'] : [])], { cwd: work, env, maxBuffer: 16 << 20 })).stdout;
    // The lines after analyze's header (its first line names the folder; the merge line comes before it).
    const body = (text: string): string => {
      const lines = text.split('\n');
      return lines.slice(lines.findIndex((l) => l.includes('R² of each score')) + 1).join('\n');
    };
    assert.equal(body(analyzed), body(await analyze('runs/unsharded', false)));
    const a = JSON.parse(await analyze('runs/study', true)) as { rows: unknown[]; perLayer: unknown[] };
    const b = JSON.parse(await analyze('runs/unsharded', true)) as { rows: unknown[]; perLayer: unknown[] };
    assert.ok(a.rows.length > 0 && a.perLayer.length > 0);
    assert.deepEqual(a.rows, b.rows);
    assert.deepEqual(a.perLayer, b.perLayer);
    lap('total', t0);
  } finally {
    await cluster?.stop();
    await unsharded?.catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  }
});
