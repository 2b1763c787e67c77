// spec.drainSeconds: the default the operator falls back to must be the CRD's (objects from files carry none).
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { DEFAULT_DRAIN_SECONDS, drainSeconds } from '../../../src/api/defaults.js';
import type { PortableLoadBalancerSpec } from '../../../src/api/generated.js';

type Schema = { properties: Record<string, Schema>; default?: unknown; minimum?: number; maximum?: number };
const crd = yaml.load(readFileSync(join(process.cwd(), 'crds/portablelb.io_portableloadbalancers.yaml'), 'utf8')) as {
  spec: { versions: { schema: { openAPIV3Schema: Schema } }[] };
};
const field = crd.spec.versions[0]!.schema.openAPIV3Schema.properties['spec']!.properties['drainSeconds']!;
const spec: PortableLoadBalancerSpec = { vip: '192.0.2.10', ports: [{ port: 80 }], backends: { selector: { matchLabels: { app: 'web' } } } };

describe('spec.drainSeconds', () => {
  it('defaults as the CRD does, within its bounds', () => {
    expect(DEFAULT_DRAIN_SECONDS).toBe(field.default);
    expect([field.minimum, field.maximum]).toEqual([0, 300]);
  });

  it.each([
    { given: undefined, want: DEFAULT_DRAIN_SECONDS },
    { given: 0, want: 0 },
    { given: 3, want: 3 },
  ])('resolves $given to $want', ({ given, want }) => {
    expect(drainSeconds({ ...spec, ...(given !== undefined ? { drainSeconds: given } : {}) })).toBe(want);
  });
});
