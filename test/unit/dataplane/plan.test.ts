import { describe, expect, test } from '@jest/globals';
import type { DesiredState } from '../../../src/dataplane/types.js';
import { buildMaglevTable } from '../../../src/dataplane/maglev.js';
import { BACKEND_ACTIVE, BACKEND_DRAINING, MAX_BACKENDS, type BackendValue } from '../../../src/dataplane/xdp/layout.js';
import { isEmptyPlan, planApply, snatPortCount, snatPorts, takeoverBefore, type Plan, type ProgrammedState } from '../../../src/dataplane/xdp/plan.js';

const desired = (over: Partial<DesiredState> = {}): DesiredState => ({
  vip: '192.0.2.10',
  ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
  backends: [{ ip: '10.0.1.1', weight: 1 }, { ip: '10.0.1.2', weight: 2 }],
  scheduler: 'maglev', attach: 'auto', interface: 'eth0', snatIp: '10.0.0.3',
  ...over,
});

const empty: ProgrammedState = { config: null, backends: new Map(), services: [] };

/** What the maps hold after executing `plan` on `state`: a model of PinnedMaps.execute for the tests. */
function applyPlan(state: ProgrammedState, plan: Plan): ProgrammedState {
  const backends = new Map(state.backends);
  for (const { id, value } of [...plan.activate, ...plan.drain]) backends.set(id, value);
  const rings = new Map<string, Uint32Array>();
  for (const r of plan.rings) rings.set(`${r.serviceId}/${r.gen}`, r.table);
  const services = state.services
    .filter((s) => !plan.deleteServices.some((k) => k.port === s.key.port && k.protocol === s.key.protocol && k.vip === s.key.vip))
    .map((s) => {
      const w = plan.services.find((p) => p.value.id === s.value.id);
      return w ? { key: w.key, value: w.value, ring: rings.get(`${w.value.id}/${w.value.ringGen}`) ?? s.ring } : s;
    });
  for (const w of plan.services) {
    if (!services.some((s) => s.value.id === w.value.id)) {
      services.push({ key: w.key, value: w.value, ring: rings.get(`${w.value.id}/${w.value.ringGen}`)! });
    }
  }
  return { config: plan.config ?? state.config, backends, services };
}

const converge = (state: ProgrammedState, d: DesiredState) => applyPlan(state, planApply(state, d));

describe('planApply', () => {
  test('programs an empty data plane: config, backends ids 1.., one ring, one service', () => {
    const plan = planApply(empty, desired());
    expect(plan.config).toEqual({ snatIp: '10.0.0.3', portMin: 1024, portMax: 65535, skipMin: 0, skipMax: 0, takeoverBefore: 55, vip: '192.0.2.10', mac: '00:00:00:00:00:00' });
    expect(plan.activate).toEqual([
      { id: 1, value: { ip: '10.0.1.1', state: BACKEND_ACTIVE } },
      { id: 2, value: { ip: '10.0.1.2', state: BACKEND_ACTIVE } },
    ]);
    expect(plan.rings).toHaveLength(1);
    expect(plan.rings[0]!.table).toEqual(buildMaglevTable([
      { key: '10.0.1.1', id: 1, weight: 1 }, { key: '10.0.1.2', id: 2, weight: 2 },
    ]));
    expect(plan.services).toEqual([{ key: { vip: '192.0.2.10', port: 80, protocol: 'TCP' }, value: { id: 1, ringGen: 0, targetPort: 8080, mssClamp: 0 } }]);
    expect(plan.resetServiceStats).toEqual([1]);
    expect(plan.resetBackendStats).toEqual([1, 2]);
  });

  test('applying the same state twice writes nothing the second time', () => {
    const once = converge(empty, desired());
    expect(isEmptyPlan(planApply(once, desired()))).toBe(true);
  });

  test('removing a backend writes the standby ring without it, flips, then drains it', () => {
    const once = converge(empty, desired());
    const plan = planApply(once, desired({ backends: [{ ip: '10.0.1.1', weight: 1 }] }));
    expect(plan.rings).toEqual([{ serviceId: 1, gen: 1, table: buildMaglevTable([{ key: '10.0.1.1', id: 1, weight: 1 }]) }]);
    expect(plan.services[0]!.value).toEqual({ id: 1, ringGen: 1, targetPort: 8080, mssClamp: 0 });
    expect(plan.drain).toEqual([{ id: 2, value: { ip: '10.0.1.2', state: BACKEND_DRAINING } }]);
    expect(plan.activate).toEqual([]);
  });

  test('a drained backend that comes back keeps its id and is re-activated before the flip', () => {
    const drained = converge(converge(empty, desired()), desired({ backends: [{ ip: '10.0.1.1', weight: 1 }] }));
    const plan = planApply(drained, desired());
    expect(plan.activate).toEqual([{ id: 2, value: { ip: '10.0.1.2', state: BACKEND_ACTIVE } }]);
    expect(plan.resetBackendStats).toEqual([]);
    expect(plan.rings[0]!.gen).toBe(0);
  });

  test('a changed targetPort rewrites the service value only (same ring generation)', () => {
    const once = converge(empty, desired());
    const plan = planApply(once, desired({ ports: [{ name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' }] }));
    expect(plan.rings).toEqual([]);
    expect(plan.services).toEqual([{ key: { vip: '192.0.2.10', port: 80, protocol: 'TCP' }, value: { id: 1, ringGen: 0, targetPort: 9090, mssClamp: 0 } }]);
  });

  test('a changed VIP adds the new services and deletes the old ones last', () => {
    const once = converge(empty, desired());
    const plan = planApply(once, desired({ vip: '192.0.2.20' }));
    expect(plan.services.map((s) => s.key.vip)).toEqual(['192.0.2.20']);
    expect(plan.services[0]!.value.id).toBe(2);
    expect(plan.deleteServices).toEqual([{ vip: '192.0.2.10', port: 80, protocol: 'TCP' }]);
    // the program drops what reaches the VIP and no service takes: it must know the new one
    expect(plan.config?.vip).toBe('192.0.2.20');
  });

  test('a changed SNAT address rewrites the config only', () => {
    const once = converge(empty, desired());
    const plan = planApply(once, desired({ snatIp: '10.0.0.4' }));
    expect(plan.config?.snatIp).toBe('10.0.0.4');
    expect(plan.rings).toEqual([]);
    expect(plan.activate).toEqual([]);
  });

  test('when ids run out, the lowest draining backend nobody wants is reclaimed', () => {
    const backends = new Map<number, BackendValue>();
    for (let id = 1; id < MAX_BACKENDS; id++) backends.set(id, { ip: `10.${9 + (id >> 16)}.${(id >> 8) & 255}.${id & 255}`, state: BACKEND_DRAINING });
    const plan = planApply({ config: null, backends, services: [] }, desired({ backends: [{ ip: '10.0.1.1', weight: 1 }] }));
    expect(plan.activate).toEqual([{ id: 1, value: { ip: '10.0.1.1', state: BACKEND_ACTIVE } }]);
  });

  test('with no id to reclaim it refuses instead of overwriting a live backend', () => {
    const backends = new Map<number, BackendValue>();
    for (let id = 1; id < MAX_BACKENDS; id++) backends.set(id, { ip: `10.${9 + (id >> 16)}.${(id >> 8) & 255}.${id & 255}`, state: BACKEND_ACTIVE });
    const want = [...backends.values()].map((b) => ({ ip: b.ip, weight: 1 }));
    expect(() => planApply({ config: null, backends, services: [] }, desired({ backends: [...want, { ip: '10.0.1.1', weight: 1 }] })))
      .toThrow(new RegExp(`more than ${MAX_BACKENDS - 1} backends`));
  });
});

describe('SNAT ports', () => {
  test.each([
    ['no own range known', null, { portMin: 1024, portMax: 65535, skipMin: 0, skipMax: 0 }, 64512],
    ['Linux default 32768-60999: cut out of the middle', { min: 32768, max: 60999 }, { portMin: 1024, portMax: 65535, skipMin: 32768, skipMax: 60999 }, 36280],
    ['at the top end: the range ends below it', { min: 61000, max: 65535 }, { portMin: 1024, portMax: 60999, skipMin: 0, skipMax: 0 }, 59976],
    ['reaching below 1024: the range starts above it', { min: 600, max: 9999 }, { portMin: 10000, portMax: 65535, skipMin: 0, skipMax: 0 }, 55536],
    ['all below 1024: nothing to cut', { min: 100, max: 900 }, { portMin: 1024, portMax: 65535, skipMin: 0, skipMax: 0 }, 64512],
  ])('%s', (_, own, want, count) => {
    expect(snatPorts(own)).toEqual(want);
    expect(snatPortCount(snatPorts(own))).toBe(count);
  });

  test('the pod\'s own range goes into the config', () => {
    expect(planApply(empty, desired(), { min: 32768, max: 60999 }).config)
      .toEqual({ snatIp: '10.0.0.3', portMin: 1024, portMax: 65535, skipMin: 32768, skipMax: 60999, takeoverBefore: 55, vip: '192.0.2.10', mac: '00:00:00:00:00:00' });
  });

  test('the interface\'s MAC goes into the config, and a change of it is written', () => {
    const withMac = converge(empty, desired());
    expect(planApply(withMac, desired(), null, '02:0A:F0:00:03:FF').config).toMatchObject({ mac: '02:0a:f0:00:03:ff' });
    const programmed = applyPlan(withMac, planApply(withMac, desired(), null, '02:0a:f0:00:03:ff'));
    expect(planApply(programmed, desired(), null, '02:0a:f0:00:03:ff').config).toBeNull();
  });
});

test.each([[60, 55], [16, 11], [15, 0], [5, 0], [3600, 3595]])('tcpClosing %i s: closing flows may be taken over while idle < %i s (0: never)', (closing, want) => {
  expect(takeoverBefore(closing)).toBe(want);
});
