// The nodes' configuration files: each setting a trap of this machine needs (../shared/notes/real-node.md) is
// there, and no two nodes share a path (socket, roots, runc root, CNI and kubelet directories).
import { describe, expect, test } from '@jest/globals';
import { clusterPlan } from '../../../hack/cluster/plan.js';
import { cniConfig, containerdConfig, kubeletConfig, kubeProxyConfig, nodePaths, PAUSE_IMAGE } from '../../../hack/cluster/render.js';

const plan = clusterPlan('t-', 2, '/c');
const [n1, n2] = plan.nodes as [typeof plan.nodes[0], typeof plan.nodes[0]];

describe('node configuration', () => {
  test('no two nodes share a path', () => {
    const a = Object.values(nodePaths(n1));
    const b = new Set(Object.values(nodePaths(n2)));
    expect(a.filter((p) => b.has(p))).toEqual([]);
  });

  test('containerd: own socket, roots and runc root; the local pause image; OOM scores clamped; cgroupfs', () => {
    const toml = containerdConfig(n1);
    for (const line of [
      'address = "/c/t-n1/containerd.sock"',
      'root = "/c/t-n1/containerd"',
      'state = "/c/t-n1/containerd-state"',
      'Root = "/c/t-n1/runc"',
      `sandbox_image = "${PAUSE_IMAGE}"`,
      'restrict_oom_score_adj = true',
      'SystemdCgroup = false',
      'conf_dir = "/c/t-n1/cni"',
      'bin_dir = "/usr/lib/cni"',
    ]) expect(toml).toContain(line);
  });

  test('CNI: the bridge with the node pod CIDR, routed (no masquerade), addresses kept in the node directory', () => {
    const conf = JSON.parse(cniConfig(n2)) as { plugins: Array<Record<string, unknown>> };
    expect(conf.plugins[0]).toMatchObject({
      type: 'bridge', isGateway: true, ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.2.0/24', gateway: '10.244.2.1' }]], dataDir: '/c/t-n2/cni-ipam' },
    });
  });

  test('kubelet: cgroup v1 allowed, its own cgroup root, no image GC, the node address, its containerd', () => {
    const yaml = kubeletConfig(plan, n1, '/c/pki/ca.crt');
    for (const line of [
      'failCgroupV1: false', 'cgroupDriver: cgroupfs', 'cgroupRoot: /t-n1', 'imageGCHighThresholdPercent: 100',
      'address: 10.89.0.11', 'containerRuntimeEndpoint: unix:///c/t-n1/containerd.sock', 'oomScoreAdj: 0',
      'podLogsDir: /c/t-n1/pod-logs', 'x509: {clientCAFile: /c/pki/ca.crt}',
    ]) expect(yaml).toContain(line);
  });

  test('kube-proxy: iptables, the node name, no conntrack sysctls (read-only outside the initial netns)', () => {
    const yaml = kubeProxyConfig(n2);
    for (const line of ['mode: iptables', 'hostnameOverride: t-n2', 'clusterCIDR: 10.244.0.0/16',
      'conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}']) expect(yaml).toContain(line);
  });
});
