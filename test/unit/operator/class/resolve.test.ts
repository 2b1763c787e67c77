// Class resolution: which class places a PLB, and what its template may add (only narrowing).
import { describe, expect, it } from '@jest/globals';
import type { PortableLoadBalancerClass, PortableLoadBalancerClassSpec, PortableLoadBalancerSpec } from '../../../../src/api/generated.js';
import { DEFAULT_CLASS_ANNOTATION, resolveClass } from '../../../../src/operator/class/resolve.js';
import { plb } from '../../support/builders.js';

const cls = (name: string, spec: PortableLoadBalancerClassSpec = {}, o: { isDefault?: boolean; created?: string } = {}): PortableLoadBalancerClass => ({
  apiVersion: 'portablelb.io/v1alpha1',
  kind: 'PortableLoadBalancerClass',
  metadata: {
    name,
    creationTimestamp: (o.created ?? '2026-01-01T00:00:00Z') as unknown as Date,
    ...(o.isDefault ? { annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } } : {}),
  },
  spec,
});

const strict = { trustTemplate: false };
const withTemplate = (template: PortableLoadBalancerSpec['template'], more: Partial<PortableLoadBalancerSpec> = {}) => plb({ template, ...more });

const locked = cls('locked', {
  podNamespace: 'lb-system',
  nodeSelector: { 'node-role/lb': 'true' },
  tolerations: [{ key: 'lb', operator: 'Exists', effect: 'NoSchedule' }],
  allowedTolerations: [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }],
  priorityClassName: 'lb-normal',
  allowedPriorityClassNames: ['lb-high'],
  allowedDataPlanes: ['xdp', 'nftables'],
  resources: { requests: { cpu: '200m' } },
}, { isDefault: true });

describe('resolveClass', () => {
  it('multi-tenant without any class: the strictest placement, so the issue\'s hostile template is refused', () => {
    const r = resolveClass(withTemplate({ priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }] }), [], strict);
    expect(r.placement).toBeUndefined();
    expect(r.condition).toMatchObject({ status: 'False', reason: 'TemplateNotAllowed' });
    expect(r.condition.message).toContain('toleration "* Exists *" (the built-in placement (no PortableLoadBalancerClass exists) allows none)');
    expect(r.condition.message).toContain('priorityClassName system-node-critical (the built-in placement (no PortableLoadBalancerClass exists) allows none)');
    // Node labels and its own resources narrow: allowed.
    expect(resolveClass(withTemplate({ nodeSelector: { zone: 'a' }, resources: { requests: { cpu: '1' } } }), [], strict)).toMatchObject({
      placement: { podNamespace: 'shop', nodeSelector: { zone: 'a' }, resources: { requests: { cpu: '1' } } },
      condition: { status: 'True', reason: 'NoClass' },
    });
  });

  it('single-tenant without any class: the PLB\'s own namespace and template, as before classes existed', () => {
    const r = resolveClass(withTemplate({ priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }] }), [], { trustTemplate: true });
    expect(r.condition).toMatchObject({ status: 'True', reason: 'NoClass' });
    expect(r.placement).toEqual({ podNamespace: 'shop', priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }], podSysctls: false });
  });

  it('the default class places a PLB that names none: its namespace, node selector, tolerations, priority and resources', () => {
    const r = resolveClass(plb(), [cls('other'), locked], strict);
    expect(r.condition).toMatchObject({ status: 'True', reason: 'ClassResolved', message: 'placed by class locked: LB pods run in namespace lb-system' });
    expect(r.placement).toEqual({
      className: 'locked', podNamespace: 'lb-system', nodeSelector: { 'node-role/lb': 'true' },
      tolerations: [{ key: 'lb', operator: 'Exists', effect: 'NoSchedule' }], priorityClassName: 'lb-normal',
      resources: { requests: { cpu: '200m' } }, podSysctls: false,
    });
  });

  it('the issue\'s hostile tenant: priorityClassName system-node-critical and a tolerate-everything toleration are refused, naming both', () => {
    const r = resolveClass(withTemplate({ priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }] }), [locked], strict);
    expect(r.placement).toBeUndefined();
    expect(r.condition).toMatchObject({ status: 'False', reason: 'TemplateNotAllowed' });
    expect(r.condition.message).toContain('toleration "* Exists *" (class locked allows "lb Exists NoSchedule", "edge Exists NoSchedule")');
    expect(r.condition.message).toContain('priorityClassName system-node-critical (class locked allows lb-high)');
  });

  it.each<[string, PortableLoadBalancerSpec['template'], Record<string, unknown>]>([
    ['an extra node label narrows: allowed', { nodeSelector: { zone: 'a' } }, { nodeSelector: { zone: 'a', 'node-role/lb': 'true' } }],
    ['the class\'s own label with the same value: allowed', { nodeSelector: { 'node-role/lb': 'true' } }, { nodeSelector: { 'node-role/lb': 'true' } }],
    ['a toleration the class lists: added', { tolerations: [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }] },
      { tolerations: [{ key: 'lb', operator: 'Exists', effect: 'NoSchedule' }, { key: 'edge', operator: 'Exists', effect: 'NoSchedule' }] }],
    ['an allowed priority class: used instead of the class\'s', { priorityClassName: 'lb-high' }, { priorityClassName: 'lb-high' }],
  ])('%s', (_, template, expected) => {
    const r = resolveClass(withTemplate(template), [locked], strict);
    expect(r.condition.status).toBe('True');
    expect(r.placement).toMatchObject(expected);
  });

  it.each<[string, PortableLoadBalancerSpec['template'], string]>([
    ['changing the class\'s node label', { nodeSelector: { 'node-role/lb': 'false' } }, 'nodeSelector node-role/lb=false (class locked requires node-role/lb=true)'],
    ['resources in the admin\'s namespace', { resources: { requests: { cpu: '8' } } }, 'resources (LB pods of class locked run in namespace lb-system, where the class sets them)'],
  ])('refuses %s', (_, template, message) => {
    const r = resolveClass(withTemplate(template), [locked], strict);
    expect(r.condition).toMatchObject({ status: 'False', reason: 'TemplateNotAllowed' });
    expect(r.condition.message).toContain(message);
  });

  it('in a class that keeps LB pods in the PLB\'s namespace, a PLB may set its own resources (its own quota pays)', () => {
    const r = resolveClass(withTemplate({ resources: { requests: { cpu: '2' } } }), [cls('local', {}, { isDefault: true })], strict);
    expect(r.placement).toMatchObject({ podNamespace: 'shop', resources: { requests: { cpu: '2' } } });
  });

  it.each<[string, Partial<PortableLoadBalancerSpec>, PortableLoadBalancerClass[], string]>([
    ['a data plane the class does not allow', { dataPlane: 'ipvs' }, [locked], 'DataPlaneNotAllowed'],
    ['a class that does not exist', { className: 'gold' }, [locked], 'ClassNotFound'],
    ['classes exist, none is the default, none named', {}, [cls('a'), cls('b')], 'NoDefaultClass'],
  ])('refuses %s', (_, spec, classes, reason) => {
    expect(resolveClass(plb(spec), classes, strict).condition).toMatchObject({ status: 'False', reason });
  });

  it('spec.className picks a class that is not the default', () => {
    expect(resolveClass(plb({ className: 'other' }), [cls('other', { podNamespace: 'x' }), locked], strict).placement).toMatchObject({ className: 'other', podNamespace: 'x' });
  });

  it('two classes marked default: the older one, on every replica alike', () => {
    const young = cls('young', { podNamespace: 'y' }, { isDefault: true, created: '2026-03-01T00:00:00Z' });
    const old = cls('old', { podNamespace: 'o' }, { isDefault: true, created: '2026-02-01T00:00:00Z' });
    expect(resolveClass(plb(), [young, old], strict).placement?.className).toBe('old');
    expect(resolveClass(plb(), [old, young], strict).placement?.className).toBe('old');
  });
});
