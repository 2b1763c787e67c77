import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { WRITTEN_TTL_MS, freshest, writtenKey } from '../../../src/operator/written.js';

const T = 1_800_000_000_000;
const role = (rv: string | undefined, rules: number): KubernetesObject & { rules: number } =>
  ({ kind: 'Role', metadata: { namespace: 'shop', name: 'web-lb', ...(rv !== undefined ? { resourceVersion: rv } : {}) }, rules });
const wrote = (rv: string, at = T - 10) => ({ object: role(rv, 3), at });

describe('freshest: the operator judges its own write until its cache shows it', () => {
  it.each([
    { name: 'no write recorded: the cache', cached: role('100', 2), w: undefined, now: T, want: { rules: 2, settled: false } },
    { name: 'the cache still shows the version the write replaced: the write', cached: role('100', 2), w: wrote('105'), now: T, want: { rules: 3, settled: false } },
    { name: 'the cache shows the write: the cache, record settled', cached: role('105', 3), w: wrote('105'), now: T, want: { rules: 3, settled: true } },
    { name: 'the cache shows a later version (someone changed it after the write): the cache', cached: role('109', 1), w: wrote('105'), now: T, want: { rules: 1, settled: true } },
    { name: 'revisions compare as numbers, not strings ("99" < "105")', cached: role('99', 2), w: wrote('105'), now: T, want: { rules: 3, settled: false } },
    { name: 'the write created it and its ADDED event has not come: the write', cached: undefined, w: wrote('105'), now: T, want: { rules: 3, settled: false } },
    { name: 'resourceVersions that are not revisions: the write until the cache shows it', cached: role('b', 2), w: wrote('a'), now: T, want: { rules: 3, settled: false } },
    { name: 'a record older than the TTL (a watch that never delivered it): the cache', cached: role('100', 2), w: wrote('105', T - WRITTEN_TTL_MS), now: T, want: { rules: 2, settled: true } },
    { name: 'nothing cached and an expired record: nothing (a live read decides)', cached: undefined, w: wrote('105', T - WRITTEN_TTL_MS - 1), now: T, want: { rules: undefined, settled: true } },
  ])('$name', ({ cached, w, now, want }) => {
    const f = freshest(cached, w, now);
    expect({ rules: (f.object as { rules?: number } | undefined)?.rules, settled: f.settled }).toEqual(want);
  });

  it('keys one record per object', () => {
    expect(writtenKey('Role', 'shop', 'web-lb')).toBe('Role/shop/web-lb');
    expect(writtenKey('ClusterRole', undefined, 'x')).not.toBe(writtenKey('ClusterRole', '', 'y'));
  });
});
