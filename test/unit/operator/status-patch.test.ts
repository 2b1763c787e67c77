import { describe, expect, it } from '@jest/globals';
import { statusPatch } from '../../../src/operator/status-patch.js';

const cond = { type: 'Ready', status: 'True' as const, reason: 'X', message: '', lastTransitionTime: '2026-11-26T00:00:00Z' };

describe('statusPatch', () => {
  it('creates status on an object that has none, only if the object is still the version the cache saw', () => {
    expect(statusPatch(undefined, { observedGeneration: 1, conditions: [cond] }, '812')).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '812' },
      { op: 'add', path: '/status', value: {} },
      { op: 'add', path: '/status/observedGeneration', value: 1 },
      { op: 'add', path: '/status/conditions', value: [cond] },
    ]);
  });

  it('returns no ops when nothing the operator owns changed', () => {
    const s = { observedGeneration: 2, conditions: [cond], backends: { ready: 1, total: 1 }, loadBalancers: [{ pod: 'a' }] };
    expect(statusPatch(s, structuredClone(s))).toEqual([]);
  });

  it('replaces only changed fields and never rewrites agent entries', () => {
    const current = { observedGeneration: 2, conditions: [cond], loadBalancers: [{ pod: 'a', ready: true }] };
    const ops = statusPatch(current, { ...current, observedGeneration: 3, loadBalancers: [{ pod: 'a', ready: false }] });
    expect(ops).toEqual([{ op: 'replace', path: '/status/observedGeneration', value: 3 }]);
  });

  it('removes entries of vanished pods from the highest index down, each guarded by a test of its pod name', () => {
    const current = { loadBalancers: [{ pod: 'a' }, { pod: 'b' }, { pod: 'c' }] };
    expect(statusPatch(current, { loadBalancers: [{ pod: 'b' }] })).toEqual([
      { op: 'test', path: '/status/loadBalancers/2/pod', value: 'c' },
      { op: 'remove', path: '/status/loadBalancers/2' },
      { op: 'test', path: '/status/loadBalancers/0/pod', value: 'a' },
      { op: 'remove', path: '/status/loadBalancers/0' },
    ]);
  });
});
