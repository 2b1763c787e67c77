// Defaults the API server applies from the CRD schema, plus the ones that depend on another field (which a
// schema default cannot express). Objects read from the API already carry the schema defaults; objects read
// from a file (standalone agent, golden fixtures) do not, so both paths go through here.
import type { PortableLoadBalancerSpec } from './generated.js';

type Scheduler = NonNullable<PortableLoadBalancerSpec['scheduler']>;
type OverlayMode = NonNullable<NonNullable<PortableLoadBalancerSpec['overlay']>['mode']>;

/** MTU a pod has under each overlay (underlay 1500 minus the encapsulation; notes/dataplane-findings.md §4.2). */
export const OVERLAY_MTU: Record<Exclude<OverlayMode, 'none'>, number> = {
  'host-gw': 1500,
  vxlan: 1450,
  udp: 1472,
  ipip: 1480,
  wireguard: 1440,
};

export function defaultScheduler(dataPlane: PortableLoadBalancerSpec['dataPlane']): Scheduler {
  return dataPlane === 'nftables' ? 'roundRobin' : 'maglev';
}

/** The MTU the agent should set, or undefined to leave the pod's MTU alone. */
export function overlayMtu(overlay: PortableLoadBalancerSpec['overlay']): number | undefined {
  if (overlay?.mtu !== undefined) return overlay.mtu;
  const mode = overlay?.mode ?? 'none';
  return mode === 'none' ? undefined : OVERLAY_MTU[mode];
}

/** IPv4 (20) + TCP (20) header bytes: an MSS above MTU - 40 makes full-sized segments too big for the path. */
const IPV4_TCP_HEADERS = 40;

/** The MSS the LB clamps SYNs and SYN-ACKs to for spec.overlay; undefined when the overlay is left alone. */
export function tcpMssClamp(overlay: PortableLoadBalancerSpec['overlay']): number | undefined {
  const mtu = overlayMtu(overlay);
  return mtu === undefined ? undefined : mtu - IPV4_TCP_HEADERS;
}

export type ResolvedSpec = PortableLoadBalancerSpec &
  Required<Pick<PortableLoadBalancerSpec, 'dataPlane' | 'scheduler' | 'replicas'>>;

export function withDefaults(spec: PortableLoadBalancerSpec): ResolvedSpec {
  const dataPlane = spec.dataPlane ?? 'xdp';
  return {
    ...spec,
    ports: spec.ports.map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })),
    backends: spec.backends.addresses
      ? { ...spec.backends, addresses: spec.backends.addresses.map((a) => ({ ...a, weight: a.weight ?? 1 })) }
      : spec.backends,
    dataPlane,
    scheduler: spec.scheduler ?? defaultScheduler(dataPlane),
    replicas: spec.replicas ?? 2,
    ...(dataPlane === 'xdp' ? { xdp: { attach: spec.xdp?.attach ?? 'auto' } } : {}),
  };
}
