// The PodDisruptionBudget and the default node spread of a PLB's LB pods (src/operator/disruption.ts).
import { describe, expect, it } from '@jest/globals';
import type { V1TopologySpreadConstraint } from '@kubernetes/client-node';
import { HOSTNAME_KEY, lbPodSpread, nodeSpread, podDisruptionBudget } from '../../../src/operator/disruption.js';

const selector = { 'app.kubernetes.io/name': 'portable-lb', 'portablelb.io/plb': 'web' };
const meta = { name: 'web-lb', namespace: 'shop' };

describe('podDisruptionBudget', () => {
  it.each([
    { replicas: 0, budget: false },
    { replicas: 1, budget: false },
    { replicas: 2, budget: true },
    { replicas: 5, budget: true },
  ])('replicas $replicas: a budget $budget', ({ replicas, budget }) => {
    const pdb = podDisruptionBudget(meta, selector, replicas);
    expect(pdb !== undefined).toBe(budget);
  });

  it('lets a drain take one LB pod at a time, whatever the replica count, and never waits for a broken one', () => {
    expect(podDisruptionBudget(meta, selector, 3)).toEqual({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta,
      spec: { maxUnavailable: 1, selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
    });
  });
});

describe('lbPodSpread', () => {
  const zone: V1TopologySpreadConstraint = { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' };
  const hostSoft: V1TopologySpreadConstraint = { maxSkew: 2, topologyKey: HOSTNAME_KEY, whenUnsatisfiable: 'ScheduleAnyway' };
  const own = { labelSelector: { matchLabels: selector } };

  it.each([
    { name: 'no class constraints: the node spread alone', theirs: undefined, want: [nodeSpread(selector)] },
    { name: 'an empty list: the node spread alone', theirs: [], want: [nodeSpread(selector)] },
    { name: 'a zone constraint: kept (made to select this PLB) and the node spread added', theirs: [zone], want: [{ ...zone, ...own }, nodeSpread(selector)] },
    { name: "the class's own hostname constraint: it decides", theirs: [zone, hostSoft], want: [{ ...zone, ...own }, { ...hostSoft, ...own }] },
  ])('$name', ({ theirs, want }) => {
    expect(lbPodSpread(theirs, selector)).toEqual(want);
  });

  it('spreads over nodes strictly but lets more replicas than nodes schedule, counting only nodes the pod may use', () => {
    expect(nodeSpread(selector)).toEqual({
      maxSkew: 1,
      topologyKey: HOSTNAME_KEY,
      whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: selector },
      matchLabelKeys: ['pod-template-hash'],
      nodeTaintsPolicy: 'Honor',
    });
  });
});
