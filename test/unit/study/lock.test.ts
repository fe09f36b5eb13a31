import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { LocusError } from '../../../src/engine/errors';
import { LOCK, lockFolder } from '../../../src/engine/methods/study/lock';
import { dedupeSpec } from '../../../src/engine/methods/study/run';
import { assertUniqueKeys } from '../../../src/engine/methods/study/store';
import type { StudyRow } from '../../../src/engine/methods/study/types';
import { tempDir } from '../../helpers/paths';

const tmp = tempDir('locus-study-lock-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The pid of a process that has ended (a real pid, so the check is the one a dead holder gets). */
const deadPid = (): number => {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
};

const writeLock = (dir: string, holder: object): void => {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, LOCK), JSON.stringify(holder));
};

const busy = (pid: number) => (e: unknown): boolean => e instanceof LocusError && e.code === 'busy' && e.message.includes(`process ${pid}`);

test('a lock is exclusive, also within one process; release removes it and the next writer gets it', () => {
  const dir = path.join(tmp, 'a');
  const first = lockFolder(dir);
  assert.ok(fs.existsSync(path.join(dir, LOCK)));
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK), 'utf8')).pid, process.pid);
  assert.throws(() => lockFolder(dir), busy(process.pid));
  first.release();
  first.release(); // idempotent
  assert.ok(!fs.existsSync(path.join(dir, LOCK)));
  assert.ok(!fs.existsSync(dir), 'a folder the lock created and nothing else wrote is removed again');
  const second = lockFolder(dir);
  fs.writeFileSync(path.join(dir, 'manifest.json'), '{}');
  second.release();
  assert.ok(fs.existsSync(path.join(dir, 'manifest.json')), 'a folder with files stays');
});

test('a live holder (the process that started this test) is busy, with its pid and start time', () => {
  const dir = path.join(tmp, 'live');
  writeLock(dir, { pid: process.ppid, host: os.hostname(), started: '2026-01-01T00:00:00.000Z', token: 'x' });
  assert.throws(() => lockFolder(dir, '--out'), (e: unknown) => busy(process.ppid)(e) && /^--out .*live is being written by process \d+ \(started 2026-01-01T00:00:00\.000Z\); wait for it or stop it$/.test((e as Error).message));
  assert.ok(fs.existsSync(path.join(dir, LOCK)), 'a live lock is left alone');
});

test('a stale lock (its process has ended) is taken over and reported', () => {
  const dir = path.join(tmp, 'stale');
  const pid = deadPid();
  writeLock(dir, { pid, host: os.hostname(), started: 'then', token: 'old' });
  const lock = lockFolder(dir);
  assert.equal(lock.tookOver?.pid, pid);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK), 'utf8')).pid, process.pid);
  lock.release();
  assert.deepEqual(fs.readdirSync(dir), [], 'no lock and no moved-aside copy left');
});

test('a lock naming our own pid that this process does not hold is a leftover (pid reuse) and is taken over', () => {
  const dir = path.join(tmp, 'reuse');
  writeLock(dir, { pid: process.pid, host: os.hostname(), started: 'then', token: 'old' });
  const lock = lockFolder(dir);
  assert.equal(lock.tookOver?.token, 'old');
  lock.release();
});

test("another host's lock cannot be checked: busy, and the message says how to clear it", () => {
  const dir = path.join(tmp, 'remote');
  writeLock(dir, { pid: deadPid(), host: 'elsewhere.example', started: 'then', token: 'r' });
  assert.throws(() => lockFolder(dir), /on host elsewhere\.example .*delete .*\.lock if that process is gone/);
});

test('an empty lock file: busy while fresh (being written), taken over when old', () => {
  const dir = path.join(tmp, 'empty');
  fs.mkdirSync(dir);
  const file = path.join(dir, LOCK);
  fs.writeFileSync(file, '');
  assert.throws(() => lockFolder(dir), (e: unknown) => e instanceof LocusError && e.code === 'busy');
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(file, old, old);
  const lock = lockFolder(dir);
  lock.release();
  assert.ok(!fs.existsSync(file));
});

test("release never removes another process's lock (ours was deleted and someone else locked)", () => {
  const dir = path.join(tmp, 'foreign');
  const lock = lockFolder(dir);
  fs.rmSync(path.join(dir, LOCK));
  writeLock(dir, { pid: process.ppid, host: os.hostname(), started: 'now', token: 'theirs' });
  lock.release();
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK), 'utf8')).token, 'theirs');
});

test('dedupeSpec keeps the first of each case, method, problem and layer, in order', () => {
  const spec = dedupeSpec({ cases: [3, 1, 3], methods: ['ft', 'rome', 'ft'], problems: ['error-injection', 'error-injection'], layers: [2, 0, 2, 0], dataset: '/d', seed: 0 });
  assert.deepEqual([spec.cases, spec.methods, spec.problems, spec.layers], [[3, 1], ['ft', 'rome'], ['error-injection'], [2, 0]]);
});

test('assertUniqueKeys names the repeating line and the line it repeats', () => {
  const row = (caseId: number, layer: number): StudyRow => ({ caseId, layer, method: 'ft', problem: 'error-injection' }) as unknown as StudyRow;
  assert.doesNotThrow(() => assertUniqueKeys('r.jsonl', [row(1, 0), row(1, 1), row(2, 0)], [1, 2, 3]));
  assert.throws(() => assertUniqueKeys('r.jsonl', [row(1, 0), row(1, 1), row(1, 0)], [1, 3, 7]), /^LocusError: r\.jsonl:7 repeats the key of line 1 \(method ft, problem error-injection, layer 0, case 1\)/);
});
