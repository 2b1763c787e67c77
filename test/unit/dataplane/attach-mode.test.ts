import { describe, expect, test } from '@jest/globals';
import { chooseAttach } from '../../../src/dataplane/xdp/attach-mode.js';

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
