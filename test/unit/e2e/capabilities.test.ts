import { describe, expect, test } from '@jest/globals';
import { capabilityNames, statusField } from '../../support/capabilities.js';

describe('capabilityNames', () => {
  test.each([
    ['0000000000000000', []],
    ['0000000000001000', ['NET_ADMIN']],
    // xdp's set: NET_ADMIN (12), PERFMON (38), BPF (39)
    ['000000c000001000', ['BPF', 'NET_ADMIN', 'PERFMON']],
    // the speaker's: NET_BIND_SERVICE (10), NET_RAW (13)
    ['0000000000002400', ['NET_BIND_SERVICE', 'NET_RAW']],
    // bit 0 (CHOWN) has no name here: reported, not hidden
    ['0000000000001001', ['NET_ADMIN', 'other:1']],
  ])('%s -> %j', (hex, names) => {
    expect(capabilityNames(hex)).toEqual(names);
  });
});

describe('statusField', () => {
  const status = 'Name:\tnode\nNoNewPrivs:\t1\nSeccomp:\t2\nCapEff:\t0000000000001000\n';
  test('reads a field, undefined when absent', () => {
    expect(statusField(status, 'CapEff')).toBe('0000000000001000');
    expect(statusField(status, 'NoNewPrivs')).toBe('1');
    expect(statusField(status, 'CapBnd')).toBeUndefined();
  });
});
