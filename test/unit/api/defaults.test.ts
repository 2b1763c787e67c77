// The tables in src/api/defaults.ts that repeat the CRD (the standalone agent has no API server to apply it)
// must say what the CRD says.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { OVERLAY_MODES, OVERLAY_MTU_RANGE, defaultScheduler } from '../../../src/api/defaults.js';

type Schema = { properties: Record<string, Schema>; enum?: string[]; minimum?: number; maximum?: number };
const crd = yaml.load(readFileSync(join(process.cwd(), 'crds/portablelb.io_portableloadbalancers.yaml'), 'utf8')) as {
  spec: { versions: { schema: { openAPIV3Schema: Schema } }[] };
};
const overlay = crd.spec.versions[0]!.schema.openAPIV3Schema.properties['spec']!.properties['overlay']!.properties;

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
});
