// When the control-plane bench counts a backlog as worked (test/bench/control-plane/converged.ts), and the ratio.
import { describe, expect, test } from '@jest/globals';
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { deploymentsConverged, plbConverged, throughputRatio } from '../bench/control-plane/converged.js';
import type { PortableLoadBalancer } from '../../src/api/generated.js';

const plb = (generation: number | undefined, status?: { observedGeneration?: number; vip?: string }) =>
  ({ metadata: { name: 'lb', ...(generation === undefined ? {} : { generation }) }, ...(status ? { status } : {}) }) as PortableLoadBalancer;

const deployment = (uid: string, generation: number | undefined, observedGeneration?: number): V1Deployment => ({
  metadata: { name: `d-${uid}`, uid, ...(generation === undefined ? {} : { generation }) },
  ...(observedGeneration === undefined ? {} : { status: { observedGeneration } }),
});
const replicaSet = (owner: string, controller: boolean | undefined, kind = 'Deployment'): V1ReplicaSet => ({
  metadata: { name: `rs-${owner}`, ownerReferences: [{ apiVersion: 'apps/v1', kind, name: `d-${owner}`, uid: owner, ...(controller === undefined ? {} : { controller }) }] },
});

describe('plbConverged', () => {
  test.each([
    ['its generation observed and its VIP granted', plb(2, { observedGeneration: 2, vip: '10.0.0.1' }), true],
    ['an older generation observed', plb(2, { observedGeneration: 1, vip: '10.0.0.1' }), false],
    ['its generation observed but no VIP granted', plb(1, { observedGeneration: 1 }), false],
    ['no status yet', plb(1), false],
    ['no generation (never from an API server)', plb(undefined, { vip: '10.0.0.1' }), false],
  ])('%s -> %s', (_name, object, expected) => {
    expect(plbConverged(object)).toBe(expected);
  });
});

describe('deploymentsConverged', () => {
  test.each<[string, V1Deployment[], V1ReplicaSet[], number]>([
    ['generation observed and a ReplicaSet it controls', [deployment('a', 1, 1)], [replicaSet('a', true)], 1],
    ['a ReplicaSet but the generation not yet observed', [deployment('a', 2, 1)], [replicaSet('a', true)], 0],
    ['generation observed but no ReplicaSet yet', [deployment('a', 1, 1)], [], 0],
    ['no status at all', [deployment('a', 1)], [replicaSet('a', true)], 0],
    ['a ReplicaSet that only refers to it (controller unset)', [deployment('a', 1, 1)], [replicaSet('a', undefined)], 0],
    ['a ReplicaSet with controller: false', [deployment('a', 1, 1)], [replicaSet('a', false)], 0],
    ['an owner of another kind with the same uid', [deployment('a', 1, 1)], [replicaSet('a', true, 'StatefulSet')], 0],
    ['another Deployment\'s ReplicaSet', [deployment('a', 1, 1)], [replicaSet('b', true)], 0],
    ['each Deployment counted once, with its own ReplicaSet only',
      [deployment('a', 1, 1), deployment('b', 1, 1), deployment('c', 3, 2)],
      [replicaSet('a', true), replicaSet('a', true), replicaSet('b', true), replicaSet('c', true)], 2],
  ])('%s -> %d', (_name, deployments, replicaSets, expected) => {
    expect(deploymentsConverged(deployments, replicaSets)).toBe(expected);
  });
});

describe('throughputRatio', () => {
  test.each([
    ['as fast as the peer', { plbs: 1000, seconds: 50 }, { deployments: 1000, seconds: 50 }, 1],
    ['half as fast', { plbs: 1000, seconds: 100 }, { deployments: 1000, seconds: 50 }, 0.5],
    ['four times as fast', { plbs: 1000, seconds: 50 }, { deployments: 1000, seconds: 200 }, 4],
    ['rates, not times: different backlog sizes', { plbs: 100, seconds: 10 }, { deployments: 1000, seconds: 50 }, 0.5],
  ])('%s -> %d', (_name, operator, peer, expected) => {
    expect(throughputRatio(operator, peer)).toBeCloseTo(expected, 10);
  });

  test.each([
    ['the operator took no time', { plbs: 10, seconds: 0 }, { deployments: 10, seconds: 1 }],
    ['the peer took no time', { plbs: 10, seconds: 1 }, { deployments: 10, seconds: 0 }],
    ['the peer had nothing to do', { plbs: 10, seconds: 1 }, { deployments: 0, seconds: 1 }],
  ])('refused: %s', (_name, operator, peer) => {
    expect(() => throughputRatio(operator, peer)).toThrow(/positive/);
  });
});
