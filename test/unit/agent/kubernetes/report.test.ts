// When the agent writes its status.loadBalancers[] entry: on a change at once, on every repair pass even
// unchanged (the operator may have pruned it on a lagging cache; the write is also the entry's heartbeat).
import { describe, expect, test } from '@jest/globals';
import { programmedVerdict, shouldWrite, statusEntry, type ReportInput } from '../../../../src/agent/kubernetes/report.js';

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

// Only what stops forwarding is fatal; what costs performance is a reason (the operator's Degraded) and the pod serves.
describe('programmedVerdict', () => {
  const none = { warnings: [], backendProblems: [], notes: [], spreadingNotes: [] };
  const off = 'net.ipv4.ip_forward is 0: this pod\'s kernel does not forward VIP traffic';
  const ignored = 'cpuSpreading.cpus: "8-9" names none of this node\'s 4 CPUs: CPU spreading left as it is on this node';
  test.each([
    { name: 'nothing to say', input: none, want: { ready: true } },
    { name: 'ip_forward off', input: { ...none, forwarding: off }, want: { ready: false, reason: 'ForwardingDisabled', message: off } },
    {
      name: 'ip_forward off and an advisory sysctl failed: fatal, both said',
      input: { ...none, forwarding: off, warnings: ['could not set sysctl net/ipv4/conf/all/send_redirects=0 (EROFS)'] },
      want: { ready: false, reason: 'ForwardingDisabled', message: `${off}; could not set sysctl net/ipv4/conf/all/send_redirects=0 (EROFS)` },
    },
    { name: 'spreading a node cannot meet', input: { ...none, spreadingIgnored: ignored }, want: { ready: true, reason: 'CPUSpreadingIgnored', message: ignored } },
    {
      name: 'spreading ignored and ip_forward off: fatal wins',
      input: { ...none, forwarding: off, spreadingIgnored: ignored },
      want: { ready: false, reason: 'ForwardingDisabled', message: `${off}; ${ignored}` },
    },
    {
      name: 'an advisory sysctl failed (send_redirects)',
      input: { ...none, warnings: ['could not set sysctl net/ipv4/conf/all/send_redirects=0 (EROFS)'], spreadingIgnored: ignored },
      want: { ready: true, reason: 'DataPlaneWarning', message: `could not set sysctl net/ipv4/conf/all/send_redirects=0 (EROFS); ${ignored}` },
    },
    { name: 'a backend problem', input: { ...none, backendProblems: ['b'] }, want: { ready: true, reason: 'BackendProblem', message: 'b' } },
    { name: 'node-level spreading advice only: no reason', input: { ...none, spreadingNotes: ['RFS also needs'] }, want: { ready: true, message: 'RFS also needs' } },
  ])('$name', ({ input, want }) => {
    expect(programmedVerdict(input)).toEqual(want);
  });
});
