// The nodes' configuration files, rendered from the plan (pure: text out, nothing written). Each setting that
// differs from upstream defaults says why; most are the traps of ../shared/notes/real-node.md.
import { join } from 'node:path';
import { POD_CIDR, type ClusterPlan, type NodePlan } from './plan.js';

/** The images every node holds before its kubelet starts; nothing is ever pulled. */
export const PAUSE_IMAGE = 'localhost/pause:catatonit';

export interface NodePaths {
  containerdConfig: string;
  containerdSocket: string;
  containerdRoot: string;
  containerdState: string;
  runcRoot: string;
  cniConfDir: string;
  cniIpamDir: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  kubeletRoot: string;
  kubeletCertDir: string;
  kubeProxyConfig: string;
  kubeProxyKubeconfig: string;
  podLogs: string;
  /** The node's mount namespace, bound to a file so every component of the node can join it. */
  mountNs: string;
  logs: string;
}

export function nodePaths(node: NodePlan): NodePaths {
  const d = node.dir;
  return {
    containerdConfig: join(d, 'containerd.toml'),
    containerdSocket: join(d, 'containerd.sock'),
    containerdRoot: join(d, 'containerd'),
    containerdState: join(d, 'containerd-state'),
    runcRoot: join(d, 'runc'),
    cniConfDir: join(d, 'cni'),
    cniIpamDir: join(d, 'cni-ipam'),
    kubeletConfig: join(d, 'kubelet.yaml'),
    kubeletKubeconfig: join(d, 'kubelet.kubeconfig'),
    kubeletRoot: join(d, 'kubelet'),
    kubeletCertDir: join(d, 'kubelet-pki'),
    kubeProxyConfig: join(d, 'kube-proxy.yaml'),
    kubeProxyKubeconfig: join(d, 'kube-proxy.kubeconfig'),
    podLogs: join(d, 'pod-logs'),
    mountNs: join(d, 'ns', 'mnt'),
    logs: join(d, 'logs'),
  };
}

/** containerd 1.6, config version 2: its own socket, roots and runc root, so nodes share nothing. */
export function containerdConfig(node: NodePlan): string {
  const p = nodePaths(node);
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${p.containerdRoot}"
state = "${p.containerdState}"
# Root here lacks CAP_SYS_RESOURCE: lowering an OOM score fails, so containerd keeps its own score.
oom_score = 0
# Snapshotters this machine cannot use (they only log errors on start).
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${p.containerdSocket}"

[ttrpc]
  address = "${p.containerdSocket}.ttrpc"

[metrics]
  address = ""

[${cri}]
  # Nothing can be pulled: the sandbox image is imported under exactly this name before the kubelet starts.
  sandbox_image = "${PAUSE_IMAGE}"
  # The sandbox asks for oom_score_adj -998, which needs CAP_SYS_RESOURCE: clamp to containerd's own score
  # (without this runc fails every sandbox with "can't get final child's PID from pipe: EOF").
  restrict_oom_score_adj = true
  disable_apparmor = true
  # exec, logs, port-forward: the apiserver reaches the kubelet, the kubelet this server, inside the node.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        # No systemd on these machines: cgroupfs, like the kubelet's cgroupDriver.
        SystemdCgroup = false
        BinaryName = "/usr/sbin/runc"
        # runc's default root /run/containerd/runc/k8s.io would be shared by every node's containerd.
        Root = "${p.runcRoot}"
  [${cri}.cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${p.cniConfDir}"
    max_conf_num = 1
`;
}

/** The bridge CNI with host-local addresses from this node's pod CIDR; no masquerade (a routed pod network). */
export function cniConfig(node: NodePlan): string {
  return `${JSON.stringify({
    cniVersion: '1.0.0',
    name: 'plb-cluster',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: node.podCidr, gateway: node.podGateway }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: nodePaths(node).cniIpamDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2)}\n`;
}

export function kubeletConfig(plan: ClusterPlan, node: NodePlan, caCert: string): string {
  const p = nodePaths(node);
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${node.ip}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${caCert}}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://${p.containerdSocket}
# No systemd: cgroupfs, and this node's own subtree of every hierarchy (removed with the node).
cgroupDriver: cgroupfs
cgroupRoot: /${node.name}
# This machine has cgroup v1 only. Kubelet 1.34 warns; from 1.35 it refuses to start unless this is false
# (KEP-5573). See hack/cluster/README.md, "Versions".
failCgroupV1: false
failSwapOn: false
# The kubelet's own OOM score cannot be lowered without CAP_SYS_RESOURCE.
oomScoreAdj: 0
# Images cannot come back once deleted (there is no registry): never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# The defaults (imagefs 15 %, nodefs 10 %) would evict pods on a busy CI disk shared by every node.
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
podLogsDir: ${p.podLogs}
# No cluster DNS runs: pods get an empty resolv.conf instead of the machine's.
resolvConf: ""
clusterDomain: cluster.local
podCIDR: ${node.podCidr}
serializeImagePulls: false
shutdownGracePeriod: 0s
`;
}

export function kubeProxyConfig(node: NodePlan): string {
  const p = nodePaths(node);
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${p.kubeProxyKubeconfig}}
hostnameOverride: ${node.name}
mode: iptables
clusterCIDR: ${POD_CIDR}
bindAddress: ${node.ip}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
oomScoreAdj: 0
# nf_conntrack_max and the conntrack timeouts are read-only outside the initial network namespace.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`;
}
