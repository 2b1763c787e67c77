// Forwarding is the one sysctl whose failed write makes an LB pod not ready: which switch each data plane needs,
// and what a read-back says.
import { describe, expect, test } from '@jest/globals';
import { checkForwarding, forwardingProblem, forwardingSysctls } from '../../../src/agent/forwarding.js';

describe('forwardingSysctls', () => {
  test.each([
    { plane: 'nftables', family: 4, want: ['net/ipv4/ip_forward'] },
    { plane: 'nftables', family: 6, want: ['net/ipv6/conf/all/forwarding'] },
    { plane: 'ipvs', family: 4, want: ['net/ipv4/ip_forward'] },
    { plane: 'ipvs', family: 6, want: ['net/ipv6/conf/all/forwarding'] },
    // xdp sets its device's forwarding itself and its apply throws when it cannot (device.ts enableForwarding)
    { plane: 'xdp', family: 4, want: [] },
    { plane: 'xdp', family: 6, want: [] },
  ] as const)('$plane, IPv$family: $want', ({ plane, family, want }) => {
    expect(forwardingSysctls(plane, family)).toEqual(want);
  });
});

describe('forwardingProblem', () => {
  test.each([
    { name: 'on', values: { 'net/ipv4/ip_forward': '1\n' }, want: undefined },
    { name: 'nothing to check', values: {}, want: undefined },
    { name: 'off', values: { 'net/ipv4/ip_forward': '0\n' }, want: /^net\.ipv4\.ip_forward is 0: this pod's kernel does not forward VIP traffic/ },
    { name: 'unreadable', values: { 'net/ipv6/conf/all/forwarding': undefined }, want: /^net\.ipv6\.conf\.all\.forwarding is unreadable:/ },
  ])('$name', ({ values, want }) => {
    const problem = forwardingProblem(values);
    if (want === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(want);
  });
});

describe('checkForwarding', () => {
  const sysctls = (v: Readonly<Record<string, string | undefined>>) => async (path: string) => {
    const value = v[path];
    if (value === undefined) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
    return value;
  };
  test.each<{ plane: 'nftables' | 'ipvs' | 'xdp'; vip: string; files: Record<string, string>; want: RegExp | undefined }>([
    { plane: 'nftables', vip: '192.0.2.10', files: { '/proc/sys/net/ipv4/ip_forward': '1\n' }, want: undefined },
    { plane: 'nftables', vip: '192.0.2.10', files: { '/proc/sys/net/ipv4/ip_forward': '0\n' }, want: /ip_forward is 0/ },
    // the switch of the VIP's family, not the other one
    { plane: 'ipvs', vip: '2001:db8::10', files: { '/proc/sys/net/ipv4/ip_forward': '1\n' }, want: /ipv6\.conf\.all\.forwarding is unreadable/ },
    { plane: 'xdp', vip: '192.0.2.10', files: {}, want: undefined },
  ])('$plane $vip -> $want', async ({ plane, vip, files, want }) => {
    const problem = await checkForwarding(plane, vip, sysctls(files));
    if (want === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(want);
  });
});
