// Where an LB pod pins its maps and which pin directories a sweep removes (pins.ts): only those the API server
// says are gone; nothing when it cannot say; never this pod's own.
import { describe, expect, test } from '@jest/globals';
import { isSibling, podPinDir, sweepPlan, type PinEntry, type PodLookup } from '../../../../src/agent/kubernetes/pins.js';

const U1 = '0b6c1c8e-1111-4a6e-9c55-1c2d3e4f5a6b';
const U2 = '7d1e2f3a-2222-4b5c-8d9e-0a1b2c3d4e5f';
const SELF = { name: 'web-lb-7f9c8d-abcde', uid: U1 };

describe('podPinDir', () => {
  test.each([
    { uid: U1, want: `/sys/fs/bpf/portable-lb/shop/web-lb-7f9c8d-abcde/${U1}` },
    // a Deployment from an operator before POD_UID: the old per-name directory
    { uid: undefined, want: '/sys/fs/bpf/portable-lb/shop/web-lb-7f9c8d-abcde' },
  ])('uid $uid -> $want', ({ uid, want }) => {
    expect(podPinDir('shop', 'web-lb-7f9c8d-abcde', uid)).toBe(want);
  });
});

describe('isSibling (the pods of this pod\'s Deployment, any rollout)', () => {
  test.each([
    { entry: 'web-lb-7f9c8d-abcde', want: true },
    { entry: 'web-lb-7f9c8d-fghij', want: true },
    { entry: 'web-lb-5d4c3b-klmno', want: true },
    { entry: 'api-lb-7f9c8d-abcde', want: false },
    { entry: 'web-lbx-7f9c8d-abcde', want: false },
  ])('$entry -> $want', ({ entry, want }) => {
    expect(isSibling(entry, SELF.name)).toBe(want);
  });
  test('a hand-made pod name has only itself', () => {
    expect(isSibling('lb0', 'lb0')).toBe(true);
    expect(isSibling('lb1', 'lb0')).toBe(false);
  });
});

describe('sweepPlan', () => {
  const other = 'web-lb-7f9c8d-fghij';
  test.each<{ name: string; entry: PinEntry; lookup: PodLookup | undefined; want: string[] }>([
    { name: 'a gone pod: its whole directory', entry: { pod: other, children: [U2] }, lookup: { kind: 'gone' }, want: [other] },
    { name: 'a live pod: kept', entry: { pod: other, children: [U2] }, lookup: { kind: 'found', uid: U2 }, want: [] },
    {
      name: 'a live pod whose name an earlier pod had: only the earlier UID',
      entry: { pod: other, children: [U1, U2] }, lookup: { kind: 'found', uid: U2 }, want: [`${other}/${U1}`],
    },
    {
      name: 'a live pod of the old per-name layout (maps directly inside): kept',
      entry: { pod: other, children: ['plb_flows', 'plb_backends'] }, lookup: { kind: 'found', uid: U2 }, want: [],
    },
    { name: 'a gone pod of the old layout: removed', entry: { pod: other, children: ['plb_flows'] }, lookup: { kind: 'gone' }, want: [other] },
    { name: 'the API server cannot say: kept', entry: { pod: other, children: [U2] }, lookup: { kind: 'unknown', why: 'timeout' }, want: [] },
    { name: 'this pod: kept, whatever was asked', entry: { pod: SELF.name, children: [U1] }, lookup: { kind: 'gone' }, want: [] },
    {
      name: 'this pod\'s name with an earlier UID beside its own: the earlier one',
      entry: { pod: SELF.name, children: [U1, U2] }, lookup: undefined, want: [`${SELF.name}/${U2}`],
    },
    { name: 'not looked up: kept', entry: { pod: other, children: [U2] }, lookup: undefined, want: [] },
  ])('$name', ({ entry, lookup, want }) => {
    expect(sweepPlan(entry, SELF, lookup).remove).toEqual(want);
  });
});
