import { describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySpreading, cpuMask, parseCpuList, sameMask, spreadingPlan } from '../../../src/agent/spreading.js';
import { OVERLAY_MTU, ipFamily, overlayMtu, tcpMssClamp } from '../../../src/api/defaults.js';

describe('CPU masks', () => {
  it.each([
    { list: '0', cpus: 8, mask: '1' },
    { list: '0-3', cpus: 8, mask: 'f' },
    { list: '0,2,4-5', cpus: 8, mask: '35' },
    { list: '0-7', cpus: 4, mask: 'f' },
    { list: '31-33', cpus: 64, mask: '3,80000000' },
  ])('$list on $cpus CPUs is $mask', ({ list, cpus, mask }) => {
    expect(cpuMask(parseCpuList(list, cpus))).toBe(mask);
  });

  it('rejects lists that name no CPU of the node, or are malformed', () => {
    expect(() => parseCpuList('8-9', 4)).toThrow(/names none of this node's 4 CPUs/);
    expect(() => parseCpuList('0-x', 4)).toThrow(/not a CPU number or range/);
    expect(() => parseCpuList('3-1', 4)).toThrow(/backwards/);
  });

  it('compares masks the way the kernel pads them', () => {
    expect(sameMask('00000000,0000000f', 'f')).toBe(true);
    expect(sameMask('00000003', '3')).toBe(true);
    expect(sameMask('f', 'e')).toBe(false);
  });
});

describe('spreadingPlan', () => {
  const queues = { rx: ['rx-0', 'rx-1'], tx: ['tx-0'] };
  it('sets RPS and flow counts on every rx queue, XPS on every tx queue, and threaded NAPI', () => {
    expect(spreadingPlan({ rps: true, cpus: '0-1', rpsFlowCount: 2048, xps: true, threadedNapi: true }, 'eth0', queues, 2)).toEqual([
      { path: 'class/net/eth0/queues/rx-0/rps_cpus', value: '3' },
      { path: 'class/net/eth0/queues/rx-0/rps_flow_cnt', value: '2048' },
      { path: 'class/net/eth0/queues/rx-1/rps_cpus', value: '3' },
      { path: 'class/net/eth0/queues/rx-1/rps_flow_cnt', value: '2048' },
      { path: 'class/net/eth0/queues/tx-0/xps_cpus', value: '3' },
      { path: 'class/net/eth0/threaded', value: '1' },
    ]);
  });
  it('spreads over all CPUs when no list is given, and turns RPS off when asked', () => {
    expect(spreadingPlan({ rps: true }, 'eth0', { rx: ['rx-0'], tx: [] }, 4)[0]).toEqual({ path: 'class/net/eth0/queues/rx-0/rps_cpus', value: 'f' });
    expect(spreadingPlan({ rps: false }, 'eth0', { rx: ['rx-0'], tx: [] }, 4)).toEqual([{ path: 'class/net/eth0/queues/rx-0/rps_cpus', value: '0' }]);
    expect(spreadingPlan(undefined, 'eth0', queues, 4)).toEqual([]);
  });

  it('reads every value back and reports what the kernel did not keep, and what only the node can do', async () => {
    const sysfs = await mkdtemp(join(tmpdir(), 'plb-sysfs-'));
    const q = join(sysfs, 'class/net/eth0/queues/rx-0');
    await mkdir(q, { recursive: true });
    await writeFile(join(q, 'rps_cpus'), '0');
    await writeFile(join(q, 'rps_flow_cnt'), '0');
    const r = await applySpreading({ rps: true, cpus: '0-1', rpsFlowCount: 4096, threadedNapi: true }, 'eth0', 2, sysfs);
    expect(await readFile(join(q, 'rps_cpus'), 'utf8')).toBe('3');
    expect(r.applied).toBe(3);
    expect(r.notes[0]).toMatch(/rps_sock_flow_entries on the node/);
  });

  it('a cpus list naming none of this node\'s CPUs is advisory: ignored, said why, nothing written, no throw', async () => {
    const sysfs = await mkdtemp(join(tmpdir(), 'plb-sysfs-'));
    const q = join(sysfs, 'class/net/eth0/queues/rx-0');
    await mkdir(q, { recursive: true });
    await writeFile(join(q, 'rps_cpus'), '0');
    const r = await applySpreading({ rps: true, cpus: '8-9' }, 'eth0', 4, sysfs);
    expect(r).toEqual({ applied: 0, failed: [], notes: [], ignored: expect.stringMatching(/names none of this node's 4 CPUs: CPU spreading left as it is/) });
    expect(await readFile(join(q, 'rps_cpus'), 'utf8')).toBe('0');
  });
});

describe('overlay MTU', () => {
  it.each([
    { mode: 'host-gw' as const, mtu: 1500 },
    { mode: 'vxlan' as const, mtu: 1450 },
    { mode: 'udp' as const, mtu: 1472 },
    { mode: 'ipip' as const, mtu: 1480 },
    { mode: 'wireguard' as const, mtu: 1440 },
  ])('$mode means MTU $mtu', ({ mode, mtu }) => {
    expect(overlayMtu({ mode })).toBe(mtu);
    expect(OVERLAY_MTU[mode]).toBe(mtu);
  });
  it('leaves the MTU alone for none, and an explicit mtu wins', () => {
    expect(overlayMtu({ mode: 'none' })).toBeUndefined();
    expect(overlayMtu(undefined)).toBeUndefined();
    expect(overlayMtu({ mode: 'vxlan', mtu: 1400 })).toBe(1400);
  });
  it('clamps MSS to the MTU minus the IPv4 and TCP headers', () => {
    expect(tcpMssClamp({ mode: 'host-gw' }, 4)).toBe(1460);
    expect(tcpMssClamp({ mode: 'udp' }, 4)).toBe(1432);
    expect(tcpMssClamp({ mode: 'none' }, 4)).toBeUndefined();
  });
  it('clamps MSS to the MTU minus the IPv6 and TCP headers for an IPv6 VIP', () => {
    expect(tcpMssClamp({ mode: 'host-gw' }, 6)).toBe(1440);
    expect(tcpMssClamp({ mode: 'vxlan' }, 6)).toBe(1390);
    expect(tcpMssClamp({ mtu: 1280 }, 6)).toBe(1220);
    expect(tcpMssClamp({ mode: 'none' }, 6)).toBeUndefined();
  });
  it('tells the VIP\'s family from its literal', () => {
    expect([ipFamily('192.0.2.10'), ipFamily('2001:db8::10')]).toEqual([4, 6]);
  });
});
