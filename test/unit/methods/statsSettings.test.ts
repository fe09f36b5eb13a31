import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { folderSetting, withSettings } from '../../../src/extension/settings';
import { resolveStatsCacheDir, userStatsCacheDir } from '../../../src/engine/methods/stats/cacheLocation';

/** Where statistics are cached (stats/cacheLocation.ts) and how locus.statsDir / locus.statsCacheDir reach requests. */
test('the user-level cache: XDG_CACHE_HOME when absolute, else ~/.cache; %LOCALAPPDATA% on Windows', () => {
  assert.equal(userStatsCacheDir({ XDG_CACHE_HOME: '/x/cache' }, 'linux', '/home/u'), path.join('/x/cache', 'locus', 'stats'));
  assert.equal(userStatsCacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux', '/home/u'), path.join('/home/u', '.cache', 'locus', 'stats'), 'a relative XDG_CACHE_HOME is ignored (XDG spec)');
  assert.equal(userStatsCacheDir({}, 'darwin', '/Users/u'), path.join('/Users/u', '.cache', 'locus', 'stats'));
  assert.equal(userStatsCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u'), 'C:\\Users\\u\\AppData\\Local\\locus\\cache\\stats');
  assert.equal(resolveStatsCacheDir('/given'), '/given');
  assert.equal(resolveStatsCacheDir('  '), userStatsCacheDir(), 'a blank flag or setting means the default');
  assert.equal(resolveStatsCacheDir(undefined), userStatsCacheDir());
});

test('edit, sweep and study requests take locus.statsDir and locus.statsCacheDir unless they name their own', () => {
  const s = { hparams: {}, statsCorpus: '', traceNoise: 's3', statsDir: '/rome/data/stats/gpt2-xl', statsCacheDir: '/fast/cache' };
  const edit = withSettings('edit/run', { method: 'rome', caseIds: [1] }, s);
  assert.equal(edit.statsDir, '/rome/data/stats/gpt2-xl');
  assert.equal(edit.cacheDir, '/fast/cache');
  const own = withSettings('edit/run', { method: 'memit', caseIds: [1], statsDir: '/mine', cacheDir: '/c' }, s);
  assert.deepEqual([own.statsDir, own.cacheDir], ['/mine', '/c']);
  assert.equal(withSettings('sweep/run', { caseId: 1, methods: ['rome'] }, s).statsDir, '/rome/data/stats/gpt2-xl');
  assert.equal(withSettings('study/run', { dir: '/d', cases: '0-1', methods: ['rome'] }, s).cacheDir, '/fast/cache');
  const blank = withSettings('edit/run', { method: 'rome', caseIds: [1] }, { ...s, statsDir: ' ', statsCacheDir: '' });
  assert.ok(!('statsDir' in blank) && !('cacheDir' in blank), 'blank settings leave the worker its defaults');
  assert.equal(withSettings('trace/run', { prompt: 'a b', subject: 'a' }, s).noise, 's3');
  assert.equal(folderSetting('~/stats', '/home/u'), path.join('/home/u', 'stats'));
  assert.equal(folderSetting('~', '/home/u'), '/home/u');
  assert.equal(folderSetting('rel/dir', '/home/u'), 'rel/dir');
});
