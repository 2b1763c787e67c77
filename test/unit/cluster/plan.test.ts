// hack/cluster's plan: names and addresses decided from the prefix and node count alone, so that up, down and
// the e2e suite agree, and the cleanup of one prefix never touches another's namespaces or cgroups.
import { describe, expect, test } from '@jest/globals';
import { checkPrefix, clusterPlan, defaultDir, ownsName, podRoutes } from '../../../hack/cluster/plan.js';

describe('checkPrefix', () => {
  test.each([
    ['plbc-', true],
    ['nod-', true],
    ['a-b-', true],
    ['plbc', false], // must end in '-'
    ['-x-', false], // must start with a letter
    ['Plb-', false],
    ['p_b-', false],
    ['averyveryverylongprefix-', false],
  ])('%s is %s', (prefix, ok) => {
    expect(checkPrefix(prefix) === undefined).toBe(ok);
  });
});

describe('clusterPlan', () => {
  const plan = clusterPlan('t-', 3, '/var/lib/x');

  test('names every namespace and node by the prefix, and one cgroup per node plus the control plane', () => {
    expect(plan.namespaces).toEqual(['t-rtr', 't-cp', 't-client', 't-n1', 't-n2', 't-n3']);
    expect(plan.nodes.map((n) => n.name)).toEqual(['t-n1', 't-n2', 't-n3']);
    expect(plan.cgroups).toEqual(['t-cp', 't-n1', 't-n2', 't-n3']);
  });

  test('gives each node its own lan address, pod CIDR and gateway, and directory', () => {
    expect(plan.nodes.map((n) => [n.ip, n.podCidr, n.podGateway, n.routerPort, n.dir])).toEqual([
      ['10.89.0.11', '10.244.1.0/24', '10.244.1.1', 'n1', '/var/lib/x/t-n1'],
      ['10.89.0.12', '10.244.2.0/24', '10.244.2.1', 'n2', '/var/lib/x/t-n2'],
      ['10.89.0.13', '10.244.3.0/24', '10.244.3.1', 'n3', '/var/lib/x/t-n3'],
    ]);
    expect(plan.apiServerUrl).toBe('https://10.89.0.2:6443');
    expect(plan.adminKubeconfig).toBe('/var/lib/x/admin.kubeconfig');
  });

  test('routes every pod CIDR via its node, and a node only to the others', () => {
    expect(podRoutes(plan)).toEqual([
      { to: '10.244.1.0/24', via: '10.89.0.11' }, { to: '10.244.2.0/24', via: '10.89.0.12' }, { to: '10.244.3.0/24', via: '10.89.0.13' },
    ]);
    expect(podRoutes(plan, 't-n2').map((r) => r.via)).toEqual(['10.89.0.11', '10.89.0.13']);
  });

  test.each([[0], [41], [1.5]])('refuses %s nodes', (n) => {
    expect(() => clusterPlan('t-', n, '/x')).toThrow(/node count/);
  });

  test('keeps its state under /var/lib/portable-lb/clusters/<prefix> by default', () => {
    expect(defaultDir('plbc-')).toBe('/var/lib/portable-lb/clusters/plbc');
  });
});

describe('ownsName', () => {
  test.each([
    ['a-', 'a-rtr', true],
    ['a-', 'a-n12', true],
    ['a-', 'a-client', true],
    ['a-', 'a-b-n1', false], // another cluster's, whose prefix starts like this one
    ['a-', 'a-n0', false],
    ['a-', 'a-node', false],
    ['a-', 'b-cp', false],
    ['a-b-', 'a-b-cp', true],
  ])('prefix %s owns %s: %s', (prefix, name, owned) => {
    expect(ownsName(prefix, name)).toBe(owned);
  });
});
