// What an LB pod may do in the kernel, per data plane: the capabilities it needs instead of `privileged`, the
// bpf filesystem only for xdp, a read-only root filesystem, seccomp RuntimeDefault, and (when the class allows)
// the data plane's sysctls in the pod's securityContext. Pure. The data-plane conformance suite runs each
// plane's agent with exactly these capabilities as its bounding set (test/dataplane/least-privilege.test.ts).
import type { V1PodSecurityContext, V1SecurityContext, V1Sysctl, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { DataPlaneName } from '../../dataplane/types.js';
import { IPVS_SYSCTLS } from '../../dataplane/ipvs/sysctls.js';
import { natSysctls } from '../../dataplane/nftables/nftables-dataplane.js';
import { FAMILIES } from '../../dataplane/nftables/names.js';
import { xdpForwardingSysctls } from '../../dataplane/xdp/device.js';

/**
 * NET_ADMIN: nftables, IPVS generic netlink, addresses on lo, tc/XDP attach, per-netns sysctls, sysfs RPS masks,
 * and loading a TC (sched_cls) program at all. BPF: creating maps and loading programs. PERFMON: the verifier
 * accepts the program's pointer arithmetic only with it (Spectre hardening otherwise). Measured with
 * test/dataplane/least-privilege.test.ts: without NET_ADMIN the TC program's load is EPERM, without BPF map
 * creation fails, without PERFMON the verifier answers EACCES; nftables without NET_ADMIN cannot list its table.
 */
export const DATA_PLANE_CAPABILITIES: Record<DataPlaneName, readonly string[]> = {
  xdp: ['NET_ADMIN', 'BPF', 'PERFMON'],
  ipvs: ['NET_ADMIN'],
  nftables: ['NET_ADMIN'],
};

export const BPFFS = '/sys/fs/bpf';
const TMP = { name: 'tmp', mountPath: '/tmp' };

export interface LbPodSecurity {
  pod: V1PodSecurityContext;
  container: V1SecurityContext;
  volumes: V1Volume[];
  volumeMounts: V1VolumeMount[];
}

/**
 * The sysctls a data plane writes for a VIP of `family`, as pod securityContext entries (interface eth0). Only
 * the VIP's family: a sysctl the pod's netns lacks (IPv6 disabled on the node) would fail the pod's creation.
 */
export function dataPlaneSysctls(dataPlane: DataPlaneName, family: 4 | 6): V1Sysctl[] {
  const paths =
    dataPlane === 'xdp'
      ? xdpForwardingSysctls('eth0', family)
      : { ...natSysctls('eth0', family === 6 ? FAMILIES.ip6 : FAMILIES.ip), ...(dataPlane === 'ipvs' ? IPVS_SYSCTLS : {}) };
  return Object.entries(paths).map(([path, value]) => ({ name: path.replaceAll('/', '.'), value }));
}

export function lbPodSecurity(dataPlane: DataPlaneName, o: { podSysctls: boolean; family: 4 | 6 }): LbPodSecurity {
  const volumes: V1Volume[] = [{ name: TMP.name, emptyDir: { sizeLimit: '16Mi' } }];
  const volumeMounts: V1VolumeMount[] = [TMP];
  if (dataPlane === 'xdp') {
    // Pinned maps outlive an agent restart, so established flows survive it.
    volumes.push({ name: 'bpffs', hostPath: { path: BPFFS, type: 'DirectoryOrCreate' } });
    volumeMounts.push({ name: 'bpffs', mountPath: BPFFS });
  }
  return {
    pod: {
      seccompProfile: { type: 'RuntimeDefault' },
      ...(o.podSysctls ? { sysctls: dataPlaneSysctls(dataPlane, o.family) } : {}),
    },
    container: {
      // Root for the kernel's sake (netlink, bpf and /proc/sys check capabilities of uid 0's credentials); the
      // image's default user is not root. No other privilege: every capability not listed is dropped.
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: [...DATA_PLANE_CAPABILITIES[dataPlane]] },
    },
    volumes,
    volumeMounts,
  };
}
