import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import { tempDir } from '../helpers/paths';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/**
 * `locus edit` and the pre-flight safety checks (issue 18 item 5): CounterFact 17674, "{}'s capital city
 * is" with subject Israel, is a real disabling ROME edit on the embedded model: its subject is the prompt's
 * first token and the bare prompt's key is nearly orthogonal to C⁻¹k* (D/d_mlp 0.036, measured; the full
 * preset's update is 1.3× ‖W‖ and raises the canary's perplexity 40 %). Flagged: warning lines on stderr,
 * `safety` in --json, and --save refused unless --force. The embedded model (its statistics ship with it)
 * and 5 v steps: the test is about the plumbing (the denominator does not depend on v).
 */
describe('locus edit: pre-flight safety on the CLI (embedded model)', () => {
  let tmp: string;
  before(() => {
    tmp = tempDir('locus-safety-cli-');
    fs.writeFileSync(path.join(tmp, 'hparams.json'), JSON.stringify({ v_num_grad_steps: 5 }));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const args = (...extra: string[]): string[] => ['edit', '--method', 'rome', '--case', '17674', '--hparams', path.join(tmp, 'hparams.json'), '--cache', path.join(tmp, 'stats'), ...extra];

  test('--json carries safety; a flagged edit warns on stderr; --save refuses it without --force and saves it with', async () => {
    const j = await run(args('--json'));
    assert.equal(j.code, 0, j.err);
    const safety = JSON.parse(j.out).safety as { flagged: boolean; checks: Array<{ name: string; value: number; threshold: number; flagged: boolean }> };
    assert.equal(safety.flagged, true);
    const den = safety.checks.find((c) => c.name === 'update-denominator')!;
    assert.ok(den.flagged && den.value < den.threshold && den.threshold === 0.1, JSON.stringify(den));
    // The first-token position is flagged because it coincides with that denominator.
    const first = safety.checks.find((c) => c.name === 'subject-first-token')!;
    assert.deepEqual([first.value, first.threshold, first.flagged], [0, 1, true]);
    for (const name of ['update-denominator', 'delta-norm-ratio', 'canary-perplexity']) {
      const c = safety.checks.find((x) => x.name === name);
      assert.ok(c && Number.isFinite(c.value) && Number.isFinite(c.threshold), `${name}: ${JSON.stringify(c)}`);
    }
    assert.match(j.err, /^warning: safety: update-denominator \(layer 0\) = 0\.036\d, below the threshold 0\.1: /m);
    assert.match(j.err, /^warning: safety: subject-first-token = 0\.00, below the threshold 1: .*D\/d_mlp 0\.036\d < 0\.2/m);

    const refused = path.join(tmp, 'refused');
    const r = await run(args('--save', refused));
    assert.equal(r.code, 2);
    assert.match(r.err, /flagged this edit .*--save refuses it; add --force/);
    assert.equal(fs.existsSync(path.join(refused, 'model.safetensors')), false, 'nothing saved');

    const forced = path.join(tmp, 'forced');
    const f = await run(args('--save', forced, '--force'));
    assert.equal(f.code, 0, f.err);
    assert.ok(fs.existsSync(path.join(forced, 'model.safetensors')));
  });
});
