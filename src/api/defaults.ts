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

/** spec.overlay.mode's values, in the CRD's order. */
export const OVERLAY_MODES = ['none', ...Object.keys(OVERLAY_MTU)] as readonly OverlayMode[];

/** The CRD's bounds on spec.overlay.mtu (minimum 576: the IPv4 minimum datagram size every host must accept). */
export const OVERLAY_MTU_RANGE = { min: 576, max: 9216 } as const;

/** The CRD's default for spec.drainSeconds. */
export const DEFAULT_DRAIN_SECONDS = 10;

export function defaultScheduler(dataPlane: PortableLoadBalancerSpec['dataPlane']): Scheduler {
  return dataPlane === 'nftables' ? 'roundRobin' : 'maglev';
}

/** The MTU the agent should set, or undefined to leave the pod's MTU alone. */
export function overlayMtu(overlay: PortableLoadBalancerSpec['overlay']): number | undefined {
  if (overlay?.mtu !== undefined) return overlay.mtu;
  const mode = overlay?.mode ?? 'none';
  return mode === 'none' ? undefined : OVERLAY_MTU[mode];
}

/** IP + TCP header bytes: an MSS above MTU minus these makes full-sized segments too big for the path. */
const TCP_HEADERS: Record<IpFamily, number> = {
  4: 20 + 20,
  6: 40 + 20,
};

export type IpFamily = 4 | 6;

/**
 * The family of a VIP literal the CRD or the standalone config admitted (IPv4 and IPv6 literals only), for every
 * layer: the agent, the operator and the data planes. Whether a text is an address at all is isIpv4/isIpv6's job.
 */
export const ipFamily = (vip: string): IpFamily => (vip.includes(':') ? 6 : 4);

/**
 * The MSS the LB clamps SYNs and SYN-ACKs to for spec.overlay and the VIP's family (the clients' and backends'
 * segments carry that family's header); undefined when the overlay is left alone.
 */
export function tcpMssClamp(overlay: PortableLoadBalancerSpec['overlay'], family: IpFamily): number | undefined {
  const mtu = overlayMtu(overlay);
  return mtu === undefined ? undefined : mtu - TCP_HEADERS[family];
}

export type ResolvedSpec = PortableLoadBalancerSpec &
  Required<Pick<PortableLoadBalancerSpec, 'dataPlane' | 'scheduler' | 'replicas' | 'drainSeconds'>>;

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
    // How long a deleted LB pod keeps forwarding after it leaves status.loadBalancers.
    drainSeconds: spec.drainSeconds ?? DEFAULT_DRAIN_SECONDS,
    ...(dataPlane === 'xdp' ? { xdp: { ...spec.xdp, attach: spec.xdp?.attach ?? 'auto' } } : {}),
  };
}
