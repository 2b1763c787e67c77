// The agent's view of the cluster -> one DesiredState. Pure. Backends are the selected pods that are ready and
// not terminating (a terminating pod leaves the backend set, so new flows avoid it while the data plane lets
// its established flows finish); named target ports are resolved per pod from its container ports.
import type { V1Pod } from '@kubernetes/client-node';
import { ipFamily, tcpMssClamp, withDefaults } from '../../api/defaults.js';
import type { PortableLoadBalancer, PortableLoadBalancerSpec } from '../../api/generated.js';
import { isLive, isPodReady, matchesSelector } from '../../api/selector.js';
import type { AttachRequest, DesiredPort, DesiredState, FlowSettings, L4Protocol } from '../../dataplane/types.js';

export interface ClusterView {
  plb: PortableLoadBalancer;
  /** The VIP to program: the one the operator gave this load balancer (see grantedVip). */
  vip: string;
  /** Pods of the PLB's namespace; the selector is applied here too (a watch may lag a selector change). */
  pods: readonly V1Pod[];
  /** The device and address of this LB pod. */
  interface: string;
  snatIp: string;
}

export interface ClusterDesired {
  state: DesiredState;
  /** Selected live pods, and how many of them became backends. */
  selected: number;
  /** Things the user should fix, e.g. a pod whose named port does not resolve. */
  problems: string[];
}

type SpecPort = PortableLoadBalancer['spec']['ports'][number];

/**
 * The VIP this load balancer holds (status.vip, written by the operator's allocator), or undefined: then the LB pods
 * program and announce nothing. spec.vip alone is only a request: another load balancer may hold that address.
 */
export function grantedVip(plb: PortableLoadBalancer): string | undefined {
  return plb.status?.vip || undefined;
}

/**
 * The PLB as this LB pod serves it. After a switch to another data plane the pod keeps serving the spec of the
 * newest generation made for its own plane (`matched`) until the rollout replaces it: the new spec may not
 * even be valid for it (maglev, the xdp default, is no nftables scheduler), and failing it would take a pod that
 * still forwards out of status.loadBalancers[] before any new pod is ready. The VIP, backends' pods and status
 * stay current.
 */
export function servedPlb(plb: PortableLoadBalancer, plane: string, matched: PortableLoadBalancer['spec'] | undefined): PortableLoadBalancer {
  if ((plb.spec.dataPlane ?? 'xdp') === plane || !matched) return plb;
  return { ...plb, spec: matched };
}

/** The pod's address of the VIP's family (a dual-stack pod has one of each in status.podIPs). */
function podAddress(pod: V1Pod, family: 4 | 6): string | undefined {
  const all = [pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((p) => p.ip)].filter((ip): ip is string => Boolean(ip));
  return all.find((ip) => ipFamily(ip) === family);
}

/** The number a port name means on one pod, or undefined. */
function containerPort(pod: V1Pod, name: string, protocol: L4Protocol): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === name && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

function resolve(port: SpecPort, pod: V1Pod): number | undefined {
  const target = port.targetPort ?? port.port;
  return typeof target === 'number' ? target : containerPort(pod, target, port.protocol ?? 'TCP');
}

/** The most common value (ties: the smallest), so one odd pod cannot redirect a whole port. */
function majority(values: number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
}

export function clusterDesired(view: ClusterView): ClusterDesired {
  const { plb } = view;
  const problems: string[] = [];
  const selector = plb.spec.backends.selector;
  const candidates = selector
    ? view.pods.filter(
        (p) => isLive(p) && matchesSelector(selector, p.metadata?.labels) && p.metadata?.labels?.['portablelb.io/name'] === undefined,
      )
    : [];
  const family = ipFamily(view.vip);
  const ready = candidates.filter((p) => isPodReady(p) && podAddress(p, family));

  // One data-plane port can only point at one backend port, so every port is resolved to the number most
  // ready pods agree on; a pod that disagrees on any port is left out, and said so.
  const ports: DesiredPort[] = plb.spec.ports.map((p) => {
    const protocol = p.protocol ?? 'TCP';
    const numbers = ready.map((pod) => resolve(p, pod)).filter((n): n is number => n !== undefined);
    const targetPort = typeof (p.targetPort ?? p.port) === 'number' ? ((p.targetPort ?? p.port) as number) : majority(numbers);
    return { port: p.port, protocol, targetPort: targetPort ?? 0, ...(p.name ? { name: p.name } : {}) };
  });
  for (const p of ports) {
    if (p.targetPort === 0) problems.push(`no ready pod has a container port named ${String(plb.spec.ports.find((s) => s.port === p.port && (s.protocol ?? 'TCP') === p.protocol)?.targetPort)}`);
  }
  const usable = ports.every((p) => p.targetPort > 0) ? ready : [];
  const backends = selector
    ? usable
        .filter((pod) => {
          const ok = plb.spec.ports.every((sp, i) => resolve(sp, pod) === ports[i]!.targetPort);
          if (!ok) problems.push(`pod ${pod.metadata?.name} resolves a named targetPort differently from the other pods; left out`);
          return ok;
        })
        .map((pod) => ({ ip: podAddress(pod, family)!, weight: 1 }))
        .sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0))
    : (plb.spec.backends.addresses ?? []).map((a) => ({ ip: a.ip, weight: a.weight ?? 1 }));

  const attach: AttachRequest = plb.spec.xdp?.attach ?? 'auto';
  const mss = tcpMssClamp(plb.spec.overlay, family);
  return {
    state: {
      vip: view.vip,
      ports: ports.filter((p) => p.targetPort > 0),
      backends,
      scheduler: withDefaults(plb.spec).scheduler,
      attach,
      interface: view.interface,
      snatIp: view.snatIp,
      ...(mss !== undefined ? { tcpMssClamp: mss } : {}),
      ...(flowSettings(plb.spec.xdp) ?? {}),
      drainSeconds: withDefaults(plb.spec).drainSeconds,
    },
    selected: selector ? candidates.length : backends.length,
    problems,
  };
}

/** spec.xdp.maxFlows and spec.xdp.flowTimeouts (the API server checked their bounds) as DesiredState.flows. */
function flowSettings(xdp: PortableLoadBalancerSpec['xdp']): { flows: FlowSettings } | undefined {
  const flows: FlowSettings = {
    ...(xdp?.maxFlows !== undefined ? { maxFlows: xdp.maxFlows } : {}), ...(xdp?.flowTimeouts ?? {}),
  };
  return Object.keys(flows).length > 0 ? { flows } : undefined;
}
