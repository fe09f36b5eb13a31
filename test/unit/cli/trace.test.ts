import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../../src/cli/main';
import { traceReportHtml } from '../../../src/engine/index';
import type { TraceResult } from '../../../src/engine/index';
import { golden, tempDir } from '../../helpers/paths';

/** Runs the CLI in-process and captures what it prints. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Asserts a one-line actionable error: exit 2, nothing on stdout, no stack trace, and the expected words. */
function assertUserError(r: { code: number; out: string; err: string }, ...words: RegExp[]): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.err})`);
  assert.equal(r.out, '');
  assert.equal(r.err.split('\n').length, 1, `one line: ${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at |Error:/, 'no stack trace');
  for (const w of words) assert.match(r.err, w);
}

const PROMPT = 'The Space Needle is located in the city of';
// "Space Needle" starts at token 1, so row 0 is a pre-subject row (never run: it holds the low score).
const fast = (...extra: string[]): string[] => ['trace', '--model', golden('gpt2-tiny-trained'), '--prompt', PROMPT, '--subject', 'Space Needle', '--samples', '3', '--kind', 'hidden', ...extra];

describe('locus trace: output', () => {
  let tmp: string;
  before(() => (tmp = tempDir('locus-trace-')));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('--json follows CONTRACTS.md: tokens × layers scores, low score before the subject, only the traced kinds', async () => {
    const r = await run(fast('--json'));
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.ids, [464, 4687, 10664, 293, 318, 5140, 287, 262, 1748, 286]);
    assert.equal(j.tokens.length, j.ids.length);
    assert.deepEqual(j.subjectRange, [1, 4]); // " Space" " Need" "le"
    assert.equal(j.answer.id, 11852);
    assert.equal(j.answer.token, ' Sydney');
    for (const k of ['highScore', 'lowScore', 'noiseLevel', 'seconds']) assert.equal(typeof j[k], 'number', k);
    // (On this tiny model three noised copies of "Space Needle" can even raise p(Sydney): no order between high and low.)
    assert.ok(j.highScore > 0 && j.lowScore > 0 && j.noiseLevel > 0);
    assert.equal(j.samples, 3);
    assert.equal(j.seed, 1);
    assert.deepEqual(Object.keys(j.grids), ['hidden']);
    assert.equal(j.grids.hidden.window, 1);
    const scores: number[][] = j.grids.hidden.scores;
    assert.equal(scores.length, j.tokens.length);
    for (const row of scores) assert.equal(row.length, 4);
    assert.deepEqual(scores[0], [j.lowScore, j.lowScore, j.lowScore, j.lowScore]);
    assert.deepEqual(Object.keys(j.tracingEffect), ['hidden']);
    assert.equal(j.tracingEffect.hidden.length, 4);
    assert.equal(j.model.n_layers, 4);
    assert.equal(j.model.architecture, 'gpt2');
  });

  test('--target traces another answer', async () => {
    const j = JSON.parse((await run(fast('--json', '--target', ' Seattle'))).out);
    assert.notEqual(j.answer.id, 11852);
    assert.equal(j.answer.token, ' Seattle');
  });

  test('--noise-subjects (blank lines ignored) and a numeric --noise set the noise level', async () => {
    const file = path.join(tmp, 'subjects.txt');
    fs.writeFileSync(file, '\nParis\n\n  The Eiffel Tower  \r\n\n');
    const base = JSON.parse((await run(fast('--json'))).out).noiseLevel;
    const other = JSON.parse((await run(fast('--json', '--noise-subjects', file))).out).noiseLevel;
    assert.ok(other > 0 && Math.abs(other - base) > 1e-9, `${other} vs ${base}`);
    assert.equal(JSON.parse((await run(fast('--json', '--noise', '0.25'))).out).noiseLevel, 0.25);
  });

  test('text output: a table per kind with the subject marked, answer, scores and tracing effect', async () => {
    const r = await run(fast());
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /answer {3}" Sydney" \(id 11852\)/);
    assert.match(r.out, /high \d\.\d{4} \(clean\) +low \d\.\d{4}/);
    assert.match(r.out, /^hidden: /m);
    assert.match(r.out, /^" Space"\* +(\d\.\d{3} +){3}\d\.\d{3}$/m);
    assert.match(r.out, /^"The" +/m);
    assert.match(r.out, /^effect +(\d\.\d{3} +){4}/m);
    assert.doesNotMatch(r.out, /^mlp: /m);
  });

  test('--html writes a self-contained report atomically, one heatmap per kind, the prompt escaped', async () => {
    const file = path.join(tmp, 'report.html');
    const prompt = `<b>"Q&A"</b> ${PROMPT}`;
    const r = await run(['trace', '--model', golden('gpt2-tiny-trained'), '--prompt', prompt, '--subject', 'The Space Needle', '--samples', '3', '--html', file]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`report +${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    const html = fs.readFileSync(file, 'utf8');
    assert.equal(html.match(/<svg class="heatmap"/g)?.length, 3);
    assert.match(html, /&lt;b&gt;&quot;Q&amp;A&quot;&lt;\/b&gt; The Space Needle/);
    assert.ok(!html.includes('<b>"Q&A"'));
    assert.doesNotMatch(html, /<script|https?:|<link|@import/i);
    assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')), []);
  });

  test('Ctrl-C cancels with one line and a non-zero exit', async () => {
    // Raise SIGINT as soon as the command listens for it: the trace must stop at its next check.
    const fire = (event: string | symbol): void => {
      if (event === 'SIGINT') setImmediate(() => process.emit('SIGINT'));
    };
    process.on('newListener', fire);
    try {
      const r = await run(fast('--kind', 'all'));
      assert.notEqual(r.code, 0);
      assert.equal(r.err, 'locus trace: cancelled');
    } finally {
      process.off('newListener', fire);
    }
    assert.equal(process.listenerCount('SIGINT'), 0, 'the SIGINT listener is removed');
  });
});

describe('locus trace: bad input gets a one-line error', () => {
  const model = golden('gpt2-tiny-trained');
  const base = ['trace', '--model', model, '--prompt', PROMPT, '--subject', 'Space Needle'];

  test('a prompt without the subject names the subject', async () => {
    assertUserError(await run(['trace', '--model', model, '--prompt', PROMPT, '--subject', 'Golden Gate']), /"Golden Gate"/, /does not contain/);
  });

  test('bad flag values fail before the model loads', async () => {
    assertUserError(await run([...base, '--kind', 'foo']), /--kind/, /"foo"/);
    assertUserError(await run([...base, '--window', '0']), /--window/, /from 1 to/);
    assertUserError(await run([...base, '--noise', 'x']), /--noise/, /"x"/);
    assertUserError(await run([...base, '--score', 'best']), /--score/, /first-token or sequence/);
    assertUserError(await run([...base, '--noise-subjects', '/nonexistent/subjects.txt']), /--noise-subjects/, /subjects\.txt does not exist/);
    assertUserError(await run([...base, '--html', '/nonexistent/dir/r.html']), /--html/, /does not exist/);
    assertUserError(await run(['trace', '--model', model, '--prompt', PROMPT]), /--subject is required/);
    assertUserError(await run([...base, 'Tower']), /unexpected argument "Tower"/);
  });
});

describe('traceReportHtml', () => {
  // A hand-made 4-token, 3-layer trace whose tokens and meta need escaping.
  const hidden = [
    [0.1, 0.1, 0.1],
    [0.2, 0.9, 0.5],
    [0.3, 0.4, 0.1],
    [0.1, 0.6, 0.7],
  ];
  const result: TraceResult = {
    tokens: ['<a>', ' &', ' "q"', " it's"],
    ids: [1, 2, 3, 4],
    subjectRange: [1, 3],
    answer: { id: 9, token: ' <x>', ids: [9] },
    highScore: 0.8,
    lowScore: 0.1,
    noiseLevel: 0.3,
    samples: 10,
    seed: 1,
    score: 'first-token',
    grids: { hidden: { window: 1, scores: hidden }, mlp: { window: 10, scores: hidden.map((r) => r.map((v) => v / 2 + 0.05)) } },
    tracingEffect: { hidden: [0.25, 1, 0.75], mlp: [0.2, 0.4, 0.6] },
    tracingEffectLastSubject: { hidden: [0.25, 0.375, 0], mlp: [-0.1, 0.2, 0.1] },
    cells: 24,
    seconds: 1.5,
  };
  const html = traceReportHtml(result, { model: 'tiny<model>', prompt: '<script>alert("x")</script> & co', subject: '"q"' });

  test('escapes every piece of text', () => {
    assert.doesNotMatch(html, /<script|<a>|<x>|<model>/);
    assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; co/);
    assert.match(html, /&lt;a&gt;/);
    assert.match(html, /&quot;q&quot;\*/);
    assert.match(html, / &amp;\*/);
    assert.match(html, /it&#39;s/);
    assert.match(html, /single restored layer within tiny&lt;model&gt;/);
    assert.doesNotMatch(html, /https?:/);
  });

  test('titles and labels as ROME draws them', () => {
    assert.match(html, /Impact of restoring state after corrupted input/);
    assert.match(html, /Impact of restoring MLP after corrupted input/);
    assert.match(html, /center of interval of 10 restored MLP layers/);
    assert.doesNotMatch(html, /Attn/, 'attn was not traced');
    assert.match(html, /p\(&lt;x&gt;\)/);
    assert.match(html, /stroke-dasharray/, 'the last-subject-token variant is dashed');
  });

  test('the colour scale runs from the low score (lightest) to the grid maximum (darkest)', () => {
    const cells = (kind: string): Map<string, string> => {
      const svg = html.slice(html.indexOf(`<svg class="heatmap" data-kind="${kind}"`));
      const body = svg.slice(0, svg.indexOf('</svg>'));
      return new Map([...body.matchAll(/fill="(#[0-9a-f]{6})"><title>token (\d+) [^<]*?layer (\d+)/g)].map((m) => [`${m[2]},${m[3]}`, m[1]]));
    };
    const h = cells('hidden');
    assert.equal(h.size, 12);
    assert.equal(h.get('0,0'), '#fcfbfd');
    assert.equal(h.get('1,1'), '#3f007d');
    const m = cells('mlp');
    assert.equal(m.get('1,1'), '#00441b');
    // Colour-bar end labels: the low score and each grid's maximum.
    assert.match(html, />0\.1000<\/text>/);
    assert.match(html, />0\.9000<\/text>/);
    assert.match(html, />0\.5000<\/text>/);
  });

  test('a table per kind inside <details>, plus one for the tracing effect', () => {
    assert.equal(html.match(/<details>/g)?.length, 3);
    assert.equal(html.match(/<table class="scores"/g)?.length, 2);
    assert.match(html, /<th scope="row">&lt;a&gt;<\/th><td>0\.1000<\/td><td>0\.1000<\/td><td>0\.1000<\/td><\/tr>/);
    assert.match(html, /<table class="effects"/);
  });
});
