import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { RunsStore } from '../../../src/extension/runs';

test('runs are saved atomically, listed newest first, studies included, junk skipped', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locus-runs-'));
  try {
    const store = new RunsStore(() => dir);
    const a = store.save('trace', 'Angola / Africa', { x: 1 }, new Date('2026-01-01T00:00:00Z'));
    const b = store.save('edit', 'ROME L0 Angola', { y: 2 }, new Date('2026-01-02T00:00:00Z'));
    assert.match(path.basename(a), /^2026-01-01T00-00-00-000Z-trace-angola-africa\.json$/);
    fs.mkdirSync(path.join(dir, 'study1'));
    fs.writeFileSync(path.join(dir, 'study1', 'manifest.json'), JSON.stringify({ kind: 'locus-study', started: '2026-01-03T00:00:00Z' }));
    fs.writeFileSync(path.join(dir, 'notes.json'), '{"hello": 1}');
    fs.writeFileSync(path.join(dir, 'half.json'), '{"kind": "trace", "lab');
    const list = store.list();
    assert.deepEqual(list.map((r) => [r.kind, r.label]), [['study', 'study1'], ['edit', 'ROME L0 Angola'], ['trace', 'Angola / Africa']]);
    assert.deepEqual(store.read<{ y: number }>(b).data, { y: 2 });
    assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0);
    assert.throws(() => new RunsStore(() => undefined).save('trace', 'x', {}), /open a folder/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
