// The LB pod's privileges per data plane: capabilities instead of privileged, bpffs only where it is used.
import { describe, expect, it } from '@jest/globals';
import { dataPlaneSysctls, lbPodSecurity } from '../../../../src/operator/class/security.js';

describe('lbPodSecurity', () => {
  it.each([
    ['xdp', ['NET_ADMIN', 'BPF', 'PERFMON'], ['tmp', 'bpffs']],
    ['ipvs', ['NET_ADMIN'], ['tmp']],
    ['nftables', ['NET_ADMIN'], ['tmp']],
  ] as const)('%s: drops every capability but %j; mounts %j', (plane, caps, volumes) => {
    const s = lbPodSecurity(plane, { podSysctls: false, family: 4 });
    expect(s.container).toEqual({
      runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: caps },
    });
    expect(s.container.privileged).toBeUndefined();
    expect(s.pod).toEqual({ seccompProfile: { type: 'RuntimeDefault' } });
    expect(s.volumes.map((v) => v.name)).toEqual(volumes);
    expect(s.volumeMounts.map((v) => v.name)).toEqual(volumes);
  });

  it('puts the data plane\'s sysctls into the pod only when the class says the kubelet allows them', () => {
    expect(lbPodSecurity('nftables', { podSysctls: true, family: 4 }).pod.sysctls).toEqual([
      { name: 'net.ipv4.ip_forward', value: '1' },
      { name: 'net.ipv4.conf.all.send_redirects', value: '0' },
      { name: 'net.ipv4.conf.eth0.send_redirects', value: '0' },
    ]);
  });

  it.each([
    ['xdp', 4, ['net.ipv4.conf.eth0.forwarding']],
    ['xdp', 6, ['net.ipv6.conf.eth0.accept_ra', 'net.ipv6.conf.eth0.forwarding']],
    ['ipvs', 4, ['net.ipv4.ip_forward', 'net.ipv4.conf.all.send_redirects', 'net.ipv4.conf.eth0.send_redirects', 'net.ipv4.vs.conntrack', 'net.ipv4.vs.expire_nodest_conn', 'net.ipv4.vs.expire_quiescent_template']],
    ['nftables', 6, ['net.ipv6.conf.all.forwarding', 'net.ipv6.conf.eth0.accept_ra']],
  ] as const)('%s (IPv%s) sets %j: the same the data plane writes itself', (plane, family, names) => {
    expect(dataPlaneSysctls(plane, family).map((s) => s.name)).toEqual(names);
  });
});
