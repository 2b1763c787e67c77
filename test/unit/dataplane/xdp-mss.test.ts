// The xdp plane's MSS clamp: DesiredState.tcpMssClamp -> the TCP services' values (plb_service.mss_clamp), and
// what a change of it writes. The BPF side is tested with real packets in test/dataplane/xdp-mss.test.ts.
import { describe, expect, test } from '@jest/globals';
import type { DesiredState } from '../../../src/dataplane/types.js';
import { decodeServiceValue, encodeServiceValue } from '../../../src/dataplane/xdp/layout.js';
import { isEmptyPlan, mssClampFor, planApply, type ProgrammedState } from '../../../src/dataplane/xdp/plan.js';

const desired = (tcpMssClamp?: number): DesiredState => ({
  vip: '192.0.2.10',
  ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 53, targetPort: 5353, protocol: 'UDP' }],
  backends: [{ ip: '10.0.1.1', weight: 1 }],
  scheduler: 'maglev', attach: 'auto', interface: 'eth0', snatIp: '10.0.0.3',
  ...(tcpMssClamp === undefined ? {} : { tcpMssClamp }),
});

/** The maps after a plan, through the byte encoding the BPF program reads. */
function programmed(state: ProgrammedState, d: DesiredState): ProgrammedState {
  const plan = planApply(state, d);
  const services = state.services.map((s) => {
    const w = plan.services.find((p) => p.value.id === s.value.id);
    return w ? { ...s, value: decodeServiceValue(encodeServiceValue(w.value)) } : s;
  });
  for (const w of plan.services) {
    if (!services.some((s) => s.value.id === w.value.id)) {
      services.push({ key: w.key, value: decodeServiceValue(encodeServiceValue(w.value)), ring: plan.rings.find((r) => r.serviceId === w.value.id)!.table });
    }
  }
  const backends = new Map(state.backends);
  for (const a of plan.activate) backends.set(a.id, a.value);
  return { config: plan.config ?? state.config, backends, services };
}

const empty: ProgrammedState = { config: null, backends: new Map(), services: [] };
const clampByPort = (s: ProgrammedState) => Object.fromEntries(s.services.map((x) => [`${x.key.port}/${x.key.protocol}`, x.value.mssClamp]));

describe('xdp plane: TCP MSS clamp in the service values', () => {
  test.each([
    ['TCP with a clamp', 'TCP', 1410, 1410],
    ['TCP without one', 'TCP', undefined, 0],
    ['UDP never', 'UDP', 1410, 0],
  ] as const)('%s -> %s', (_name, protocol, clamp, want) => {
    expect(mssClampFor(protocol, clamp)).toBe(want);
  });

  test.each([0, -1, 1.5, 65536, Number.NaN])('refuses an impossible clamp (%s) instead of writing a wrong one', (clamp) => {
    expect(() => mssClampFor('TCP', clamp)).toThrow(/tcpMssClamp must be an integer in 1\.\.65535/);
  });

  test('a new load balancer gets the clamp on its TCP services only', () => {
    expect(clampByPort(programmed(empty, desired(1410)))).toEqual({ '80/TCP': 1410, '53/UDP': 0 });
  });

  test('changing the clamp rewrites the TCP service value only: same id, same ring generation, no ring write', () => {
    const before = programmed(empty, desired(1410));
    const plan = planApply(before, desired(1360));
    expect(plan.rings).toEqual([]);
    expect(plan.services).toEqual([{ key: { vip: '192.0.2.10', port: 80, protocol: 'TCP' }, value: { id: 1, ringGen: 0, targetPort: 8080, mssClamp: 1360 } }]);
    expect(isEmptyPlan(planApply(programmed(before, desired(1360)), desired(1360)))).toBe(true);
  });

  test('maps pinned by an agent from before the clamp (zero there) get it on the first apply, and only that', () => {
    const old = programmed(empty, desired());
    expect(clampByPort(old)).toEqual({ '80/TCP': 0, '53/UDP': 0 });
    const plan = planApply(old, desired(1410));
    expect({ rings: plan.rings.length, activate: plan.activate.length, config: plan.config }).toEqual({ rings: 0, activate: 0, config: null });
    expect(plan.services.map((s) => [s.key.port, s.value.mssClamp])).toEqual([[80, 1410]]);
  });

  test('removing the clamp writes 0 (leave MSS options alone)', () => {
    const plan = planApply(programmed(empty, desired(1410)), desired());
    expect(plan.services.map((s) => s.value.mssClamp)).toEqual([0]);
  });
});
