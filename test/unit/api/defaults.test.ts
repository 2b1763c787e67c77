// The tables in src/api/defaults.ts that repeat the CRD (the standalone agent has no API server to apply it)
// must say what the CRD says.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { DEFAULT_DRAIN_SECONDS, OVERLAY_MODES, OVERLAY_MTU_RANGE, defaultScheduler, withDefaults } from '../../../src/api/defaults.js';
import type { PortableLoadBalancerSpec } from '../../../src/api/generated.js';

type Schema = { properties: Record<string, Schema>; enum?: string[]; default?: unknown; minimum?: number; maximum?: number };
const crd = yaml.load(readFileSync(join(process.cwd(), 'crds/portablelb.io_portableloadbalancers.yaml'), 'utf8')) as {
  spec: { versions: { schema: { openAPIV3Schema: Schema } }[] };
};
const specSchema = crd.spec.versions[0]!.schema.openAPIV3Schema.properties['spec']!;
const overlay = specSchema.properties['overlay']!.properties;
const drain = specSchema.properties['drainSeconds']!;
const spec: PortableLoadBalancerSpec = { vip: '192.0.2.10', ports: [{ port: 80 }], backends: { selector: { matchLabels: { app: 'web' } } } };

describe('defaults repeated from the CRD', () => {
  it('lists the overlay modes of the CRD, in its order', () => {
    expect(OVERLAY_MODES).toEqual(overlay['mode']!.enum);
  });

  it('bounds the overlay MTU as the CRD does', () => {
    expect(OVERLAY_MTU_RANGE).toEqual({ min: overlay['mtu']!.minimum, max: overlay['mtu']!.maximum });
  });

  it.each([
    { dataPlane: 'nftables', scheduler: 'roundRobin' },
    { dataPlane: 'xdp', scheduler: 'maglev' },
    { dataPlane: 'ipvs', scheduler: 'maglev' },
    { dataPlane: undefined, scheduler: 'maglev' },
  ] as const)('defaults the scheduler of dataPlane $dataPlane to $scheduler', ({ dataPlane, scheduler }) => {
    expect(defaultScheduler(dataPlane)).toBe(scheduler);
  });

  // The default the operator falls back to must be the CRD's (objects from files carry none).
  it('defaults spec.drainSeconds as the CRD does, within its bounds', () => {
    expect(DEFAULT_DRAIN_SECONDS).toBe(drain.default);
    expect([drain.minimum, drain.maximum]).toEqual([0, 300]);
  });

  it.each([
    { given: undefined, want: DEFAULT_DRAIN_SECONDS },
    { given: 0, want: 0 },
    { given: 3, want: 3 },
  ])('resolves drainSeconds $given to $want', ({ given, want }) => {
    expect(withDefaults({ ...spec, ...(given !== undefined ? { drainSeconds: given } : {}) }).drainSeconds).toBe(want);
  });
});
