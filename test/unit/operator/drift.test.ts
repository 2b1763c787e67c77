// childDrift against what the API server returns: our applied child plus defaults and other managers' fields.
import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject, V1ManagedFieldsEntry } from '@kubernetes/client-node';
import { OPERATOR_FIELD_MANAGER } from '../../../src/api/constants.js';
import { plannedChildren } from '../../../src/operator/apply-plan.js';
import { withForeignFieldsOnly } from '../../../src/operator/cache-shapes.js';
import { childDrift } from '../../../src/operator/drift.js';
import { quantityValue, sameQuantity } from '../../../src/operator/quantity.js';
import type { OperatorSettings } from '../../../src/operator/desired.js';
import { plb } from '../support/builders.js';

const settings: OperatorSettings = { agentImage: 'img:1', imagePullPolicy: 'IfNotPresent', agentLogLevel: 'info' };
type Obj = Record<string, any>;

function planned(kind: string, spec = {}): KubernetesObject {
  return plannedChildren(plb(spec), settings).find((c) => c.kind === kind)!;
}

/** What the API server stores: our fields, defaults it adds, its bookkeeping, and the managers' records. */
function live(desired: KubernetesObject, edit: (o: Obj) => void = () => undefined, managers: V1ManagedFieldsEntry[] = []): KubernetesObject {
  const o = structuredClone(desired) as Obj;
  o.metadata.resourceVersion = '4711';
  o.metadata.annotations = { ...o.metadata.annotations, 'deployment.kubernetes.io/revision': '1' };
  if (o.kind === 'Deployment') {
    const pod = o.spec.template.spec;
    Object.assign(pod, { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', securityContext: pod.securityContext ?? {} });
    for (const c of pod.containers) {
      Object.assign(c, { terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' });
      for (const e of c.env ?? []) if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion = 'v1';
      for (const p of [c.readinessProbe, c.livenessProbe]) if (p) Object.assign(p, { timeoutSeconds: 1, successThreshold: 1, httpGet: { ...p.httpGet, scheme: 'HTTP' } });
    }
    o.spec.revisionHistoryLimit = 10;
    o.spec.progressDeadlineSeconds = 600;
    o.status = { replicas: 2, conditions: [] };
  }
  edit(o);
  o.metadata.managedFields = [
    { manager: OPERATOR_FIELD_MANAGER, operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    { manager: 'kube-controller-manager', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:deployment.kubernetes.io/revision': {} } } } },
    { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:replicas': {} } } },
    ...managers,
  ];
  return o as KubernetesObject;
}

const update = (manager: string, fieldsV1: object, subresource?: string): V1ManagedFieldsEntry =>
  ({ manager, operation: 'Update', fieldsType: 'FieldsV1', fieldsV1, ...(subresource ? { subresource } : {}) });

describe('childDrift', () => {
  it('sees nothing in a steady Deployment: server defaults, the controller-manager\'s annotation and status are not drift', () => {
    const d = planned('Deployment');
    expect(childDrift(d, live(d), OPERATOR_FIELD_MANAGER)).toBeUndefined();
  });

  it.each([
    { name: 'kubectl scale', kind: 'Deployment', edit: (o: Obj) => (o.spec.replicas = 5), mgr: update('kubectl', { 'f:spec': { 'f:replicas': {} } }, 'scale'), want: 'spec.replicas: 5, want 2' },
    {
      name: 'an edited image', kind: 'Deployment', edit: (o: Obj) => (o.spec.template.spec.containers[0].image = 'evil:1'),
      mgr: update('kubectl-edit', { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"agent"}': { 'f:image': {} } } } } } }),
      want: 'spec.template.spec.containers[agent].image: evil:1, want img:1',
    },
    {
      name: 'an edited Role', kind: 'Role', edit: (o: Obj) => o.rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }),
      mgr: update('kubectl-edit', { 'f:rules': {} }), want: 'rules: 4 item(s), want 3',
    },
    { name: 'a removed label', kind: 'ServiceAccount', edit: (o: Obj) => delete o.metadata.labels['app.kubernetes.io/managed-by'], want: 'metadata.labels.app.kubernetes.io/managed-by: missing, want portable-lb-operator' },
  ])('repairs $name', ({ kind, edit, mgr, want }) => {
    const d = planned(kind);
    const l = live(d, edit, mgr ? [mgr] : []);
    const drift = childDrift(d, l, OPERATOR_FIELD_MANAGER);
    expect(drift?.reasons).toContain(want);
    // The operator's cache keeps only the managedFields entries drift reads (cache-shapes.ts): the same verdict.
    const cached = withForeignFieldsOnly(l);
    expect(childDrift(d, cached, OPERATOR_FIELD_MANAGER)).toEqual(drift);
    expect(cached.metadata?.managedFields?.map((e) => e.manager)).not.toContain(OPERATOR_FIELD_MANAGER);
  });

  it('removes a volume (and its mount) another manager added: apply alone would keep them', () => {
    const d = planned('Deployment');
    const edited = live(d, (o) => {
      o.spec.template.spec.volumes.push({ name: 'extra', hostPath: { path: '/etc' } });
      o.spec.template.spec.containers[0].volumeMounts.push({ name: 'extra', mountPath: '/host-etc' });
    }, [update('kubectl-edit', { 'f:spec': { 'f:template': { 'f:spec': {
      'f:volumes': { 'k:{"name":"extra"}': { '.': {}, 'f:name': {}, 'f:hostPath': { 'f:path': {} } } },
      'f:containers': { 'k:{"name":"agent"}': { 'f:volumeMounts': { 'k:{"mountPath":"/host-etc"}': { '.': {}, 'f:name': {}, 'f:mountPath': {} } } } },
    } } } })]);
    const volumes = (edited as Obj).spec.template.spec.volumes.length - 1;
    const mounts = (edited as Obj).spec.template.spec.containers[0].volumeMounts.length - 1;
    const drift = childDrift(d, edited, OPERATOR_FIELD_MANAGER)!;
    expect(drift.reasons).toEqual(expect.arrayContaining(['spec.template.spec.volumes[extra] added by kubectl-edit']));
    expect(drift.removals[0]).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: '4711' });
    expect(drift.removals.slice(1)).toHaveLength(2);
    expect(drift.removals.slice(1)).toEqual(expect.arrayContaining([
      { op: 'remove', path: `/spec/template/spec/volumes/${volumes}` },
      { op: 'remove', path: `/spec/template/spec/containers/0/volumeMounts/${mounts}` },
    ]));
  });

  it('leaves pod-template annotations (kubectl rollout restart) and a ServiceAccount\'s imagePullSecrets to others', () => {
    const d = planned('Deployment');
    const restarted = live(d, (o) => (o.spec.template.metadata.annotations = { 'kubectl.kubernetes.io/restartedAt': '2026-11-26T12:00:00Z' }),
      [update('kubectl-rollout', { 'f:spec': { 'f:template': { 'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/restartedAt': {} } } } } })]);
    expect(childDrift(d, restarted, OPERATOR_FIELD_MANAGER)).toBeUndefined();
    const sa = planned('ServiceAccount');
    const withSecrets = live(sa, (o) => (o.imagePullSecrets = [{ name: 'registry' }]), [update('admin', { 'f:imagePullSecrets': {} })]);
    expect(childDrift(sa, withSecrets, OPERATOR_FIELD_MANAGER)).toBeUndefined();
  });

  it('compares resources by value (the API server stores quantities in canonical form) and an empty map as none', () => {
    const d = planned('Deployment', { template: { nodeSelector: {}, resources: { requests: { cpu: '0.5', memory: '1024Mi' } } } });
    const stored = live(d, (o) => {
      o.spec.template.spec.containers[0].resources = { requests: { cpu: '500m', memory: '1Gi' } };
      delete o.spec.template.spec.nodeSelector;
    });
    expect(childDrift(d, stored, OPERATOR_FIELD_MANAGER)).toBeUndefined();
  });
});

describe('quantities', () => {
  it.each([
    ['100m', 0.1], ['192Mi', 192 * 2 ** 20], ['1Gi', 2 ** 30], ['1e3', 1000], ['0.5', 0.5], ['2k', 2000], ['1.5', 1.5],
  ])('%s = %d', (q, v) => expect(quantityValue(q)).toBeCloseTo(v, 9));
  it('compares by value', () => {
    expect(sameQuantity('1000m', '1')).toBe(true);
    expect(sameQuantity('1024Mi', '1Gi')).toBe(true);
    expect(sameQuantity('1Gi', '1G')).toBe(false);
  });
});
