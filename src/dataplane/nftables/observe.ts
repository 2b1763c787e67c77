// The table's counters -> the data-plane observation the agent turns into /metrics. Pure.
import type { BackendObservation, ServiceObservation } from '../types.js';
import { counters, serviceKey } from './names.js';
import { recordedBackends, recordedServices, type TableState } from './state.js';

const ZERO = { packets: 0, bytes: 0 };

export function observeTable(table: TableState): { services: ServiceObservation[]; backends: BackendObservation[]; global: Record<string, number> } {
  const get = (name: string) => table.counters.get(name) ?? ZERO;
  const services: ServiceObservation[] = [];
  for (const meta of recordedServices(table).values()) {
    const svc = serviceKey(meta.protocol, meta.port);
    const flows = get(counters.serviceFlows(svc));
    const tx = get(counters.serviceTx(svc));
    const rx = get(counters.serviceRx(svc));
    const noBackend = get(counters.serviceNoBackend(svc)).packets;
    services.push({
      ...meta,
      packets: tx.packets, bytes: tx.bytes, replyPackets: rx.packets, replyBytes: rx.bytes,
      // every new connection enters the service chain once; the ones without a backend are dropped there
      newFlows: flows.packets - noBackend,
      noBackend,
      // nf_nat has no counter for a failed port allocation, and routing failures are not ours to count
      snatExhausted: 0, fibFailures: 0,
    });
  }
  const backends: BackendObservation[] = [...recordedBackends(table)].map(([ip, s]) => {
    const tx = get(counters.backendTx(ip));
    const rx = get(counters.backendRx(ip));
    return {
      ip, state: s.state, packets: tx.packets, bytes: tx.bytes, replyPackets: rx.packets, replyBytes: rx.bytes,
      newFlows: get(counters.backendFlows(ip)).packets,
    };
  });
  const byPort = (a: ServiceObservation, b: ServiceObservation) => a.port - b.port || a.protocol.localeCompare(b.protocol);
  // The vip chain's drops (render.ts): nothing addressed to the VIP that no service takes is forwarded.
  const global = { unservedDropped: get(counters.vipUnserved).packets, staleTcpReset: get(counters.vipStale).packets };
  return { global, services: services.sort(byPort), backends: backends.sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true })) };
}
