import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatStudyRate, studyRate } from '../../../src/engine/index';
import { EditReuse } from '../../../src/engine/methods/edit/editReuse';
import { studyProgressMessage } from '../../../src/worker/handlers/study';

describe('study progress: edits/hour and ETA', () => {
  test('studyRate: 4 edits in 60 s, 6 to go → 240 edits/h, 90 s left; nothing before the first edit', () => {
    assert.deepEqual(studyRate(4, 6, 60), { secondsPerUnit: 15, editsPerHour: 240, etaSeconds: 90 });
    const none = studyRate(0, 10, 5);
    assert.ok(Number.isNaN(none.editsPerHour) && Number.isNaN(none.etaSeconds) && Number.isNaN(none.secondsPerUnit));
  });

  test('formatStudyRate and the worker line', () => {
    assert.equal(formatStudyRate(studyRate(4, 6, 60)), '240 edits/h, ETA 2 min');
    assert.equal(formatStudyRate(studyRate(1, 2, 100)), '36.0 edits/h, ETA 4 min');
    assert.equal(formatStudyRate(studyRate(1, 1000, 100)), '36.0 edits/h, ETA 27.8 h');
    assert.equal(formatStudyRate(studyRate(0, 3, 1)), '');
    const p = { done: 5, total: 10, resumed: 1, stage: 'case 7: rome error-injection layer 2', ...studyRate(4, 5, 60) };
    assert.equal(studyProgressMessage(p), '5/10 edits · 240 edits/h · ETA 2 min · case 7: rome error-injection layer 2');
  });

  test('EditReuse makes each key once, and again after a failure', async () => {
    const reuse = new EditReuse();
    let made = 0;
    const make = async (): Promise<number> => ++made;
    assert.equal(await reuse.get('a', make), 1);
    assert.equal(await reuse.get('a', make), 1);
    assert.equal(await reuse.get('b', make), 2);
    await assert.rejects(reuse.get('c', async () => Promise.reject(new Error('cancelled'))));
    assert.equal(await reuse.get('c', make), 3);
  });

  test('EditReuse keeps large values within its budget, oldest dropped first, one over the budget never', async () => {
    const reuse = new EditReuse();
    const third = Math.floor(EditReuse.LARGE_BUDGET / 3);
    let made = 0;
    const make = async (): Promise<number> => ++made;
    assert.equal(await reuse.getLarge('C0', third, make), 1);
    assert.equal(await reuse.getLarge('C1', third, make), 2);
    assert.equal(await reuse.getLarge('C0', third, make), 1, 'kept');
    assert.equal(await reuse.getLarge('C2', third, make), 3);
    assert.equal(await reuse.getLarge('C3', third, make), 4, 'C0 dropped to make room');
    assert.equal(await reuse.getLarge('C0', third, make), 5);
    assert.equal(await reuse.getLarge('huge', EditReuse.LARGE_BUDGET + 1, make), 6);
    assert.equal(await reuse.getLarge('huge', EditReuse.LARGE_BUDGET + 1, make), 7, 'not kept');
  });
});
