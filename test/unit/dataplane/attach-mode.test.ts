import { describe, expect, test } from '@jest/globals';
import { chooseAttach, stalledHookWarnings } from '../../../src/dataplane/xdp/attach-mode.js';
import type { ServiceObservation } from '../../../src/dataplane/types.js';

const veth = { name: 'eth0', kind: 'veth' };
const nic = { name: 'ens5', kind: null };

describe('chooseAttach', () => {
  test.each([
    ['auto on a veth uses TC only', 'auto', veth, ['tc']],
    ['auto on a NIC tries native XDP, then TC', 'auto', nic, ['native', 'tc']],
    ['tc is tc everywhere', 'tc', nic, ['tc']],
    ['native is native only (no silent fallback)', 'native', veth, ['native']],
    ['generic is generic only', 'generic', nic, ['generic']],
  ] as const)('%s', (_name, request, device, candidates) => {
    expect(chooseAttach(request, device).candidates).toEqual(candidates);
  });

  test('native XDP on a veth warns about the host-side peer and partial checksums', () => {
    const [warning] = chooseAttach('native', veth).warnings;
    expect(warning).toMatch(/host-side peer/);
    expect(warning).toMatch(/partial checksums/);
  });

  test('tc and auto need no warning', () => {
    expect(chooseAttach('auto', veth).warnings).toEqual([]);
    expect(chooseAttach('tc', veth).warnings).toEqual([]);
  });
});

describe('stalledHookWarnings', () => {
  const svc = (over: Partial<ServiceObservation>): ServiceObservation => ({
    vip: '192.0.2.10', port: 80, protocol: 'TCP', targetPort: 8080, packets: 40, bytes: 2400, replyPackets: 0,
    replyBytes: 0, newFlows: 20, noBackend: 0, snatExhausted: 0, fibFailures: 0, ...over,
  });

  test.each([
    ['native XDP with flows and no replies is stalled', 'native', [svc({})], 1],
    ['generic XDP likewise', 'generic', [svc({})], 1],
    ['TC never is (the kernel delivers its redirects)', 'tc', [svc({})], 0],
    ['replies flowing means it works', 'native', [svc({ replyPackets: 30 })], 0],
    ['too few flows to tell', 'native', [svc({ newFlows: 19 })], 0],
    ['UDP may legitimately get no replies', 'native', [svc({ protocol: 'UDP' })], 0],
    ['nothing attached', null, [svc({})], 0],
  ] as const)('%s', (_name, hook, services, count) => {
    expect(stalledHookWarnings(hook, 'eth0', [...services])).toHaveLength(count);
  });

  test('says what to do', () => {
    expect(stalledHookWarnings('native', 'eth0', [svc({})])[0]).toMatch(/192\.0\.2\.10:80.*GRO or an XDP program.*attach: tc/);
  });
});
