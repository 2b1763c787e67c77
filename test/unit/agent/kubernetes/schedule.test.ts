// When a watched change is applied (src/agent/kubernetes/schedule.ts): at once, folded, or after the sync.
import { describe, expect, test } from '@jest/globals';
import { onChange, type ChangeAction } from '../../../../src/agent/kubernetes/schedule.js';

describe('the agent applies a change on its leading edge', () => {
  const cases: [string, { synced: boolean; running: boolean }, ChangeAction][] = [
    ['a change in a quiet period starts a pass at once (no debounce window)', { synced: true, running: false }, 'apply-now'],
    ['a change during a pass folds into the one pass after it', { synced: true, running: true }, 'fold-into-next'],
    ['the initial list delivers pods before the cache is complete: nothing is applied yet', { synced: false, running: false }, 'wait-for-sync'],
    ['not synced wins over running (a relist of a selector change)', { synced: false, running: true }, 'wait-for-sync'],
  ];
  test.each(cases)('%s', (_, state, action) => {
    expect(onChange(state)).toBe(action);
  });
});
