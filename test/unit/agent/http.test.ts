// Where the agent's health and metrics server binds: the pod's addresses (probes, scrapes) and loopback
// (port-forward, exec), never the wildcard and never a VIP (test/dataplane/health-bind.test.ts binds for real).
import { describe, expect, test } from '@jest/globals';
import { healthAddresses } from '../../../src/agent/http.js';

describe('healthAddresses', () => {
  test.each([
    { name: 'one pod IP', podIPs: ['10.244.0.9'], vips: [], want: ['10.244.0.9', '127.0.0.1'] },
    {
      name: 'dual stack, POD_IP repeated in POD_IPS: each once, and ::1',
      podIPs: ['10.244.0.9', '10.244.0.9', 'fd00::9'], vips: [], want: ['10.244.0.9', 'fd00::9', '127.0.0.1', '::1'],
    },
    {
      name: 'never a VIP, a wildcard or an empty value',
      podIPs: ['10.244.0.9', '192.0.2.10', '0.0.0.0', '::', ''], vips: ['192.0.2.10'], want: ['10.244.0.9', '127.0.0.1'],
    },
    { name: 'no pod IP known: loopback only', podIPs: [], vips: [], want: ['127.0.0.1'] },
  ])('$name', ({ podIPs, vips, want }) => {
    expect(healthAddresses(podIPs, vips)).toEqual(want);
  });
});
