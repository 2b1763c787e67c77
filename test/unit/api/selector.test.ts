import { describe, expect, it } from '@jest/globals';
import { countBackends, describeSelector, matchesSelector } from '../../../src/api/selector.js';
import { pod } from '../support/builders.js';

describe('matchesSelector', () => {
  it.each([
    { name: 'matchLabels all present', sel: { matchLabels: { app: 'web', tier: 'fe' } }, labels: { app: 'web', tier: 'fe', x: 'y' }, want: true },
    { name: 'matchLabels one differs', sel: { matchLabels: { app: 'web' } }, labels: { app: 'api' }, want: false },
    { name: 'In with a listed value', sel: { matchExpressions: [{ key: 'app', operator: 'In' as const, values: ['web', 'api'] }] }, labels: { app: 'api' }, want: true },
    { name: 'In without the key', sel: { matchExpressions: [{ key: 'app', operator: 'In' as const, values: ['web'] }] }, labels: {}, want: false },
    { name: 'NotIn without the key', sel: { matchExpressions: [{ key: 'app', operator: 'NotIn' as const, values: ['web'] }] }, labels: {}, want: true },
    { name: 'Exists', sel: { matchExpressions: [{ key: 'canary', operator: 'Exists' as const }] }, labels: { canary: '' }, want: true },
    { name: 'DoesNotExist', sel: { matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' as const }] }, labels: { canary: '' }, want: false },
  ])('$name -> $want', ({ sel, labels, want }) => {
    expect(matchesSelector(sel, labels as Record<string, string>)).toBe(want);
  });
});

describe('countBackends', () => {
  it('counts live matching pods, and the ready ones among them; terminating and finished pods do not count', () => {
    const pods = [
      pod({ name: 'a', labels: { app: 'web' }, ready: true, node: 'n' }),
      pod({ name: 'b', labels: { app: 'web' }, ready: false, node: 'n' }),
      pod({ name: 'c', labels: { app: 'web' }, ready: true, node: 'n', deleting: true }),
      pod({ name: 'd', labels: { app: 'web' }, ready: false, node: 'n', phase: 'Succeeded' }),
      pod({ name: 'e', labels: { app: 'db' }, ready: true, node: 'n' }),
    ];
    expect(countBackends({ matchLabels: { app: 'web' } }, pods, () => false)).toEqual({ ready: 1, total: 2 });
  });

  it('describes a selector the way kubectl prints one', () => {
    expect(describeSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] })).toBe('app=web, tier in (a,b)');
  });
});

describe('labelSelectorString', () => {
  it('renders a selector as a watch query', async () => {
    const { labelSelectorString } = await import('../../../src/api/selector.js');
    expect(
      labelSelectorString({
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
          { key: 'canary', operator: 'Exists' },
          { key: 'old', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=web,tier in (a,b),env notin (dev),canary,!old');
  });
});
