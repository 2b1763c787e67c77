import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { clusterDesired, grantedVip, servedPlb } from '../../../../src/agent/kubernetes/desired.js';
import { entryChanged, statusEntry } from '../../../../src/agent/kubernetes/report.js';
import { plb } from '../../support/builders.js';

interface P {
  name: string;
  ip?: string;
  ready?: boolean;
  terminating?: boolean;
  labels?: Record<string, string>;
  ports?: { name: string; containerPort: number; protocol?: string }[];
}
const pod = (p: P): V1Pod => ({
  metadata: { name: p.name, labels: p.labels ?? { app: 'web' }, ...(p.terminating ? { deletionTimestamp: new Date() } : {}) },
  spec: { containers: [{ name: 'c', ports: p.ports ?? [] }] },
  status: { phase: 'Running', ...(p.ip ? { podIP: p.ip } : {}), conditions: [{ type: 'Ready', status: p.ready === false ? 'False' : 'True' }] },
});
const view = (pods: V1Pod[], spec: { vip?: string } & Record<string, unknown> = {}) =>
  ({ plb: plb(spec), vip: spec.vip ?? '192.0.2.10', pods, interface: 'eth0', snatIp: '10.244.0.9' });

describe('clusterDesired', () => {
  it('programs only ready, live, selected pods, sorted by IP, each with weight 1', () => {
    const d = clusterDesired(
      view([
        pod({ name: 'b', ip: '10.244.1.2' }),
        pod({ name: 'a', ip: '10.244.1.1' }),
        pod({ name: 'not-ready', ip: '10.244.1.3', ready: false }),
        pod({ name: 'terminating', ip: '10.244.1.4', terminating: true }),
        pod({ name: 'other-app', ip: '10.244.1.5', labels: { app: 'db' } }),
        pod({ name: 'no-ip-yet' }),
        pod({ name: 'own-lb-pod', ip: '10.244.1.6', labels: { app: 'web', 'portablelb.io/name': 'web' } }),
      ]),
    );
    expect(d.state.backends).toEqual([
      { ip: '10.244.1.1', weight: 1 },
      { ip: '10.244.1.2', weight: 1 },
    ]);
    expect(d.selected).toBe(4);
    expect(d.state).toEqual(expect.objectContaining({ vip: '192.0.2.10', interface: 'eth0', snatIp: '10.244.0.9', attach: 'auto' }));
  });

  it('clamps TCP MSS to the overlay MTU minus 40, and leaves MSS alone without an overlay', () => {
    const pods = [pod({ name: 'a', ip: '10.0.0.1' })];
    expect(clusterDesired(view(pods, { overlay: { mode: 'vxlan' } })).state.tcpMssClamp).toBe(1410);
    expect(clusterDesired(view(pods, { overlay: { mode: 'wireguard', mtu: 1380 } })).state.tcpMssClamp).toBe(1340);
    expect(clusterDesired(view(pods, { overlay: { mode: 'none' } })).state).not.toHaveProperty('tcpMssClamp');
    expect(clusterDesired(view(pods)).state).not.toHaveProperty('tcpMssClamp');
  });

  it('clamps TCP MSS of an IPv6 VIP to the overlay MTU minus 60 (IPv6 header 40, TCP 20)', () => {
    const pods = [pod({ name: 'a', ip: '2001:db8:1::1' })];
    const v6 = (overlay: { mode?: 'vxlan' | 'ipip'; mtu?: number }) => view(pods, { vip: '2001:db8::10', dataPlane: 'nftables', overlay });
    expect(clusterDesired(v6({ mode: 'vxlan' })).state.tcpMssClamp).toBe(1390);
    expect(clusterDesired(v6({ mode: 'ipip', mtu: 1400 })).state.tcpMssClamp).toBe(1340);
  });

  it('takes each backend pod\'s address of the VIP\'s family (a dual-stack pod lists both in status.podIPs)', () => {
    const dual = (name: string, v4: string, v6: string): V1Pod => {
      const p = pod({ name, ip: v4 });
      return { ...p, status: { ...p.status, podIPs: [{ ip: v4 }, { ip: v6 }] } };
    };
    const pods = [dual('a', '10.0.0.1', 'fd00::1'), pod({ name: 'v4-only', ip: '10.0.0.2' })];
    expect(clusterDesired(view(pods, { vip: '2001:db8::10', dataPlane: 'nftables' })).state.backends).toEqual([{ ip: 'fd00::1', weight: 1 }]);
    expect(clusterDesired(view(pods)).state.backends.map((b) => b.ip)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('programs the VIP the operator granted (status.vip), not the one spec.vip asks for', () => {
    const granted = plb({ vip: '192.0.2.10' }, { vip: '192.0.2.10' });
    expect(grantedVip(granted)).toBe('192.0.2.10');
    // Asked for, not granted (another load balancer holds it): nothing to program.
    expect(grantedVip(plb({ vip: '192.0.2.10' }))).toBeUndefined();
    // Allocated from a pool: spec.vip is empty.
    expect(grantedVip(plb({ vip: undefined }, { vip: '198.51.100.7' }))).toBe('198.51.100.7');
  });

  it('defaults targetPort to port and keeps numeric target ports', () => {
    const d = clusterDesired(view([pod({ name: 'a', ip: '10.0.0.1' })], { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 443, targetPort: 8443 }] }));
    expect(d.state.ports.map((p) => [p.port, p.targetPort])).toEqual([[80, 80], [443, 8443]]);
  });

  it('resolves a named targetPort per pod and leaves out a pod that disagrees, saying so', () => {
    const http = (n: number) => [{ name: 'http', containerPort: n }];
    const d = clusterDesired(
      view(
        [
          pod({ name: 'a', ip: '10.0.0.1', ports: http(8080) }),
          pod({ name: 'b', ip: '10.0.0.2', ports: http(8080) }),
          pod({ name: 'odd', ip: '10.0.0.3', ports: http(9090) }),
        ],
        { ports: [{ port: 80, targetPort: 'http' }] },
      ),
    );
    expect(d.state.ports[0]?.targetPort).toBe(8080);
    expect(d.state.backends.map((b) => b.ip)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(d.problems).toEqual(['pod odd resolves a named targetPort differently from the other pods; left out']);
  });

  it('programs no backends, and says why, when no ready pod has the named port', () => {
    const d = clusterDesired(view([pod({ name: 'a', ip: '10.0.0.1' })], { ports: [{ port: 80, targetPort: 'http' }] }));
    expect(d.state.backends).toEqual([]);
    expect(d.problems[0]).toMatch(/no ready pod has a container port named http/);
  });

  it('uses static addresses with their weights', () => {
    const d = clusterDesired(view([], { backends: { addresses: [{ ip: '10.0.5.7', weight: 3 }, { ip: '10.0.5.8' }] } }));
    expect(d.state.backends).toEqual([
      { ip: '10.0.5.7', weight: 3 },
      { ip: '10.0.5.8', weight: 1 },
    ]);
  });
});

describe('status entry', () => {
  const base = { pod: 'p', node: 'n1', podIP: '10.0.0.9', attach: 'tc', generation: 4, backends: 2, ready: true };
  it('carries the programmed generation only when ready', () => {
    expect(statusEntry(base, new Date(0)).programmedGeneration).toBe(4);
    expect(statusEntry({ ...base, ready: false, reason: 'KernelFeatureMissing' }, new Date(0)).programmedGeneration).toBeUndefined();
  });
  it('is not rewritten when only the timestamp would change', () => {
    const a = statusEntry(base, new Date(0));
    expect(entryChanged(a, statusEntry(base, new Date(60_000)))).toBe(false);
    expect(entryChanged(a, statusEntry({ ...base, backends: 3 }, new Date(0)))).toBe(true);
    expect(entryChanged(undefined, a)).toBe(true);
  });
});

describe('servedPlb', () => {
  const nft = plb({ dataPlane: 'nftables', scheduler: 'roundRobin' });
  const toXdp = plb({ dataPlane: 'xdp' }); // a switch: maglev by default, no scheduler nftables has

  it.each([
    ['its own data plane: the spec as it is', toXdp, 'xdp', nft.spec, toXdp.spec],
    ['after a switch away: the last spec of its own plane', toXdp, 'nftables', nft.spec, nft.spec],
    ['nothing of its own seen yet: the spec as it is', toXdp, 'nftables', undefined, toXdp.spec],
  ])('%s', (_, current, plane, matched, want) => {
    expect(servedPlb(current, plane, matched).spec).toEqual(want);
  });

  it('keeps the VIP, status and metadata of the current object', () => {
    const current = { ...toXdp, metadata: { ...toXdp.metadata, generation: 3 }, status: { vip: '192.0.2.10' } };
    const served = servedPlb(current, 'nftables', nft.spec);
    expect([served.metadata, served.status]).toEqual([current.metadata, current.status]);
  });

  it('yields a desired state the old plane can program after a switch (its own scheduler)', () => {
    const served = servedPlb(toXdp, 'nftables', nft.spec);
    const d = clusterDesired({ plb: served, vip: '192.0.2.10', pods: [pod({ name: 'a', ip: '10.244.1.1' })], interface: 'eth0', snatIp: '10.244.0.9' });
    expect(d.state.scheduler).toBe('roundRobin');
  });
});
