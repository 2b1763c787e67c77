// When the agent writes its status.loadBalancers[] entry: on a change at once, on every repair pass even
// unchanged (the operator may have pruned it on a lagging cache; the write is also the entry's heartbeat).
import { describe, expect, test } from '@jest/globals';
import { shouldWrite, statusEntry, type ReportInput } from '../../../../src/agent/kubernetes/report.js';

const input: ReportInput = { pod: 'web-lb-1', node: 'n1', podIP: '10.244.0.9', attach: 'native', generation: 3, backends: 2, ready: true };
const at = (s: number) => new Date(Date.UTC(2026, 11, 3, 8, 0, s));
const entry = statusEntry(input, at(0));
const later = statusEntry(input, at(30)); // only the timestamp differs
const changed = statusEntry({ ...input, backends: 3 }, at(1));

describe('shouldWrite', () => {
  test.each([
    { name: 'nothing written yet', written: undefined, next: entry, repair: false, withdrawn: false, want: true },
    { name: 'a change, between repair passes', written: entry, next: changed, repair: false, withdrawn: false, want: true },
    { name: 'only the timestamp moved, between repair passes', written: entry, next: later, repair: false, withdrawn: false, want: false },
    { name: 'unchanged, on a repair pass: re-asserted', written: entry, next: later, repair: true, withdrawn: false, want: true },
    { name: 'the last write failed (nothing known written)', written: undefined, next: later, repair: false, withdrawn: false, want: true },
    { name: 'withdrawn, on a repair pass', written: entry, next: later, repair: true, withdrawn: true, want: false },
    { name: 'withdrawn, on a change', written: entry, next: changed, repair: false, withdrawn: true, want: false },
  ])('$name -> $want', ({ written, next, repair, withdrawn, want }) => {
    expect(shouldWrite({ written, next, repair, withdrawn })).toBe(want);
  });
});
