// The Helm chart against a real kube-apiserver: lint, schema, a real `helm install`, a server-side dry run of
// every optional feature, and the operator run with the rendered Deployment's arguments under the chart's own
// ServiceAccount (so a missing RBAC rule fails here, not in a user's cluster).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, loadAllYaml, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
import { LABEL_PLB } from '../../src/api/constants.js';
import { childName, podChildName } from '../../src/operator/naming.js';
import { createTestNamespace, eventually, repoRoot, startControlPlane, type ControlPlane } from './harness/index.js';
import { freePort } from './harness/ports.js';
import { CHART, helm, renderChart } from './support/helm.js';
import { ensureBuilt } from './support/operator-process.js';
import { condition, plbClient } from './support/plb-api.js';
import { startRenderedOperator, type RunningOperator } from './support/rendered-operator.js';

jest.setTimeout(180_000);

const RELEASE = 'portable-lb'; // fullname == release name, so object names are predictable
let cp: ControlPlane;
let ns: string;
let operator: RunningOperator | undefined;
let installOutput = '';

beforeAll(async () => {
  ensureBuilt();
  cp = await startControlPlane();
  ns = await createTestNamespace(cp.kubeConfig, 'plb-system');
  // A real install: helm creates the CRD from the chart's crds/ (waiting until it is established), then the rest.
  const r = helm(['install', RELEASE, CHART, '--namespace', ns, '--kubeconfig', cp.kubeconfigPath]);
  if (r.code !== 0) throw new Error(`helm install failed:\n${r.stderr}`);
  installOutput = r.stdout;
});
afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
});

const kinds = (yaml: string) => (loadAllYaml(yaml) as KubernetesObject[]).filter(Boolean).map((o) => `${o.kind}/${o.metadata?.name}`);

describe('the Helm chart', () => {
  test('passes helm lint --strict, with default values and with every optional feature on', () => {
    for (const extra of [[], ['--set', 'metrics.serviceMonitor.enabled=true,tracing.enabled=true,tracing.endpoint=http://otel:4317']]) {
      const r = helm(['lint', '--strict', CHART, ...extra]);
      expect({ code: r.code, out: r.stdout + r.stderr }).toMatchObject({ code: 0 });
    }
  });

  test('ships every CRD byte-identical to crds/', () => {
    const files = readdirSync(join(repoRoot, 'crds')).sort();
    expect(readdirSync(join(CHART, 'crds')).sort()).toEqual(files);
    for (const file of files) expect(readFileSync(join(CHART, 'crds', file), 'utf8')).toBe(readFileSync(join(repoRoot, 'crds', file), 'utf8'));
  });

  test.each([
    ['an unknown top-level key', { replicas: '2' }, /additional properties 'replicas' not allowed/],
    ['an unknown log level', { logLevel: 'verbose' }, /logLevel.*must be one of/],
    ['a bad pull policy', { 'agent.image.pullPolicy': 'Sometimes' }, /pullPolicy.*must be one of/],
    ['zero replicas', { replicaCount: '0' }, /replicaCount.*minimum/],
    ['a tracing endpoint that is not a URL', { 'tracing.endpoint': 'otel:4317' }, /tracing\/endpoint/],
    ['a sampler ratio above 1', { 'tracing.samplerRatio': '1.5' }, /tracing\/samplerRatio/],
    ['two replicas without leader election', { 'leaderElection.enabled': 'false' }, /needs leaderElection.enabled=true/],
    ['tracing without an endpoint', { 'tracing.enabled': 'true' }, /needs tracing.endpoint/],
    ['a pool without addresses', { 'pools[0].name': 'p', 'pools[0].namespaces[0]': 'shop' }, /pools\/0.*addresses/],
    ['a pool for nobody', { 'pools[0].name': 'p', 'pools[0].addresses[0]': '192.0.2.0/24' }, /pools\/0/],
    ['an unknown data plane in the default class', { 'defaultClass.allowedDataPlanes[0]': 'dpdk' }, /allowedDataPlanes/],
  ])('rejects %s before anything reaches the cluster', (_, set, message) => {
    expect(() => renderChart(RELEASE, 'x', set)).toThrow(message);
  });

  test('helm install created every rendered object in the API server', async () => {
    const rendered = kinds(renderChart(RELEASE, ns));
    expect(rendered.sort()).toEqual([
      'ClusterRole/portable-lb', 'ClusterRoleBinding/portable-lb', 'Deployment/portable-lb',
      'PortableLoadBalancerClass/default', 'Role/portable-lb-bgp-passwords', 'Role/portable-lb-leader-election',
      'RoleBinding/portable-lb-bgp-passwords', 'RoleBinding/portable-lb-leader-election',
      'Service/portable-lb-metrics', 'ServiceAccount/portable-lb',
    ]);
    const got = await cp.kubectl(['get', '-n', ns, 'deployment/portable-lb', 'serviceaccount/portable-lb',
      'role/portable-lb-leader-election', 'rolebinding/portable-lb-leader-election', 'service/portable-lb-metrics',
      'clusterrole/portable-lb', 'clusterrolebinding/portable-lb', 'portableloadbalancerclass/default', 'crd/portableloadbalancers.portablelb.io',
      'crd/vippools.portablelb.io', 'crd/portableloadbalancerclasses.portablelb.io', 'crd/bgppeers.portablelb.io',
      'role/portable-lb-bgp-passwords', 'rolebinding/portable-lb-bgp-passwords', '-o', 'name']);
    expect(got.stderr).toBe('');
    expect(got.stdout.trim().split('\n')).toHaveLength(14);
  });

  test("helm install's NOTES tell how to create a first PLB, and that PLB is accepted by the API server", async () => {
    const notes = installOutput.slice(installOutput.indexOf('NOTES:'));
    expect(notes).toContain(`rollout status deployment/${RELEASE}`);
    const heredoc = /<<'PLB'\n([\s\S]*?)\n\s*PLB\n/.exec(notes)?.[1];
    expect(heredoc).toBeDefined();
    const indent = /^ */.exec(heredoc!)![0].length;
    const file = join(cp.dir, 'notes-plb.yaml');
    writeFileSync(file, heredoc!.split('\n').map((l) => l.slice(indent)).join('\n'));
    const app = await createTestNamespace(cp.kubeConfig, 'notes');
    const r = await cp.kubectl(['apply', '--dry-run=server', '-n', app, '-f', file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/portableloadbalancer.portablelb.io\/web created \(server dry run\)/);
  });

  test('a render with tracing, no leader election, a separate agent image and placement passes --dry-run=server', async () => {
    const yaml = renderChart('other', ns, {
      'tracing.enabled': 'true', 'tracing.endpoint': 'http://otel-collector.observability:4317', 'tracing.samplerRatio': '0.25',
      'leaderElection.enabled': 'false', replicaCount: '1', 'agent.image.repository': 'registry.example/plb-agent',
      'agent.image.tag': 'dev', 'agent.logLevel': 'debug', 'nodeSelector.kubernetes\\.io/os': 'linux',
      'podAnnotations.example\\.com/team': 'net', 'imagePullSecrets[0].name': 'regcred', priorityClassName: 'system-cluster-critical',
      // The installed release already has the cluster-scoped default class.
      'defaultClass.create': 'false',
    });
    const dep = (loadAllYaml(yaml) as KubernetesObject[]).find((o) => o?.kind === 'Deployment') as V1Deployment;
    const c = dep.spec!.template.spec!.containers[0]!;
    expect(c.args).toContain('--agent-image=registry.example/plb-agent:dev');
    expect(c.args).not.toContain('--leader-elect');
    expect(c.env).toEqual(expect.arrayContaining([{ name: 'LEADER_ELECT', value: 'false' }, { name: 'OTEL_TRACES_EXPORTER', value: 'otlp' },
      { name: 'OTEL_TRACES_SAMPLER_ARG', value: '0.25' }]));
    const file = join(cp.dir, 'other.yaml');
    writeFileSync(file, yaml);
    const r = await cp.kubectl(['apply', '--dry-run=server', '-n', ns, '-f', file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/deployment.apps\/other-portable-lb created \(server dry run\)/);
  });

  test('pools from values and the default class are rendered, and accepted by the API server', async () => {
    const yaml = renderChart('tenancy', ns, {
      'pools[0].name': 'public', 'pools[0].addresses[0]': '192.0.2.0/24', 'pools[0].addresses[1]': '2001:db8::10-2001:db8::20',
      'pools[0].namespaces[0]': 'shop', 'pools[1].name': 'manual', 'pools[1].addresses[0]': '198.51.100.0/28', 'pools[1].namespaces[0]': 'blog', 'pools[1].autoAssign': 'false',
      'defaultClass.name': 'tenancy-default', 'defaultClass.allowedDataPlanes[0]': 'nftables', 'singleTenant': 'true',
    });
    const objs = loadAllYaml(yaml) as KubernetesObject[];
    const pools = objs.filter((o) => o?.kind === 'VIPPool') as (KubernetesObject & { spec: unknown })[];
    expect(pools.map((p) => [p.metadata?.name, p.spec])).toEqual([
      ['public', { addresses: ['192.0.2.0/24', '2001:db8::10-2001:db8::20'], namespaces: ['shop'] }],
      ['manual', { addresses: ['198.51.100.0/28'], namespaces: ['blog'], autoAssign: false }],
    ]);
    const cls = objs.find((o) => o?.kind === 'PortableLoadBalancerClass') as KubernetesObject & { spec: unknown };
    expect(cls.metadata?.annotations).toEqual({ 'portablelb.io/is-default-class': 'true' });
    expect(cls.spec).toEqual({ podNamespace: ns, allowedDataPlanes: ['nftables'], podSysctls: false });
    const dep = objs.find((o) => o?.kind === 'Deployment') as V1Deployment;
    expect(dep.spec!.template.spec!.containers[0]!.args).toContain('--single-tenant');
    const file = join(cp.dir, 'tenancy.yaml');
    writeFileSync(file, yaml);
    const r = await cp.kubectl(['apply', '--dry-run=server', '-n', ns, '-f', file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/vippool.portablelb.io\/public created \(server dry run\)/);
    expect(r.stdout).toMatch(/vippool.portablelb.io\/manual created \(server dry run\)/);
    expect(r.stdout).toMatch(/portableloadbalancerclass.portablelb.io\/tenancy-default created \(server dry run\)/);
  });

  test('nodeRoutes.enabled adds the NodeIP node-route DaemonSet and node speaker: hostNetwork, NET_ADMIN + NET_BIND_SERVICE + NET_RAW, read-only RBAC (Secrets in its namespace only) but for patching PLB status (status.nodeSessions); accepted by the API server', async () => {
    const yaml = renderChart('nr', ns, { 'nodeRoutes.enabled': 'true' });
    const objs = loadAllYaml(yaml) as KubernetesObject[];
    const ds = objs.find((o) => o?.kind === 'DaemonSet') as KubernetesObject & { spec: { template: { spec: { hostNetwork: boolean; containers: Array<{ args: string[]; securityContext: { capabilities: { add: string[] } } }> } } } };
    expect(ds.spec.template.spec.hostNetwork).toBe(true);
    expect(ds.spec.template.spec.containers[0]!.args).toEqual(['node-routes']);
    expect(ds.spec.template.spec.containers[0]!.securityContext.capabilities.add).toEqual(['NET_ADMIN', 'NET_BIND_SERVICE', 'NET_RAW']);
    const role = objs.find((o) => o?.kind === 'ClusterRole' && o.metadata?.name?.endsWith('node-routes')) as KubernetesObject & { rules: Array<{ resources: string[]; verbs: string[] }> };
    expect(role.rules.flatMap((r) => r.verbs)).toEqual(['get', 'list', 'watch', 'get', 'list', 'watch', 'get', 'list', 'watch', 'patch']);
    // Its only write: the status subresource of PLBs, where it reports its sessions.
    expect(role.rules.filter((r) => r.verbs.includes('patch'))).toEqual([{ apiGroups: ['portablelb.io'], resources: ['portableloadbalancers/status'], verbs: ['patch'] }]);
    const secrets = objs.find((o) => o?.kind === 'Role' && o.metadata?.name?.endsWith('node-routes')) as KubernetesObject & { rules: Array<{ resources: string[]; verbs: string[] }> };
    expect(secrets.metadata?.namespace).toBe(ns);
    expect(secrets.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
    // Only the node-route objects: the rest of this release (its cluster-scoped default class) exists already.
    const file = join(cp.dir, 'nr.yaml');
    writeFileSync(file, objs.filter((o) => o?.metadata?.name?.endsWith('node-routes')).map((o) => JSON.stringify(o)).join('\n---\n'));
    const r = await cp.kubectl(['apply', '--dry-run=server', '-n', ns, '-f', file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/daemonset.apps\/nr-portable-lb-node-routes created \(server dry run\)/);
  });

  test('the optional ServiceMonitor selects the metrics Service by its labels', () => {
    const objs = loadAllYaml(renderChart(RELEASE, ns, { 'metrics.serviceMonitor.enabled': 'true' })) as KubernetesObject[];
    const sm = objs.find((o) => o?.kind === 'ServiceMonitor') as KubernetesObject & { spec: { selector: { matchLabels: Record<string, string> } } };
    const svc = objs.find((o) => o?.kind === 'Service');
    expect(sm).toBeDefined();
    expect(svc?.metadata?.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(kinds(renderChart(RELEASE, ns))).not.toContainEqual(expect.stringMatching(/^ServiceMonitor/));
  });
});

describe('the operator as the chart runs it', () => {
  test("with the rendered Deployment's arguments and only the chart's RBAC, it becomes ready, leads and reconciles a PLB", async () => {
    const deployment = await cp.kubeConfig.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: RELEASE, namespace: ns });
    // The chart's ServiceAccount, not the test's admin: every permission the operator uses must come from the chart.
    const token = await cp.kubectl(['create', 'token', RELEASE, '-n', ns, '--duration=1h']);
    expect(token.code).toBe(0);
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [cp.kubeConfig.getCurrentCluster()!],
      users: [{ name: 'chart-sa', token: token.stdout.trim() }],
      contexts: [{ name: 'chart-sa', cluster: cp.kubeConfig.getCurrentCluster()!.name, user: 'chart-sa' }],
      currentContext: 'chart-sa',
    });
    const kubeconfig = join(cp.dir, 'chart-sa.kubeconfig');
    writeFileSync(kubeconfig, kc.exportConfig());

    operator = startRenderedOperator(deployment, { name: 'portable-lb-7d9c-x2', namespace: ns }, kubeconfig, await freePort());
    try {
      await eventually(async () => expect(await operator!.ready()).toBe(true), 60_000);
      await eventually(async () => {
        const lease = await cp.kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns, name: 'portable-lb-operator' });
        expect(lease.spec?.holderIdentity).toMatch(/^portable-lb-7d9c-x2_/);
      }, 30_000);

      // Children include the agent's Role: the API server only lets the operator create it if the ClusterRole
      // holds every permission in it (RBAC escalation prevention), so a rule missing from the chart fails here.
      const app = await createTestNamespace(cp.kubeConfig, 'app');
      const plbs = plbClient(cp.kubeConfig);
      await plbs.create(app, 'web', { vip: '192.0.2.10', ports: [{ port: 80, targetPort: 'http' }], backends: { selector: { matchLabels: { app: 'web' } } } });
      await eventually(async () => expect((await plbs.get(app, 'web')).status?.observedGeneration).toBe(1), 60_000);
      // The chart's default class runs the LB pods in the release namespace; the agent's Role for the PLB and its
      // backends stays in the PLB's namespace.
      const here = await cp.kubectl(['get', '-n', app, 'deployment,serviceaccount,role,rolebinding', '-l', `${LABEL_PLB}=web`, '-o', 'name']);
      const child = childName('web');
      expect(here.stdout.trim().split('\n').sort()).toEqual([`role.rbac.authorization.k8s.io/${child}`, `rolebinding.rbac.authorization.k8s.io/${child}`]);
      const there = await cp.kubectl(['get', '-n', ns, 'deployment,serviceaccount,role,rolebinding,secret', '-l', `${LABEL_PLB}=web`, '-o', 'name']);
      const lb = podChildName(app, 'web', ns);
      // The BGP Secret beside the LB pods (a Secret volume comes from the pod's own namespace).
      expect(there.stdout.trim().split('\n').sort()).toEqual([
        `deployment.apps/${lb}`, `role.rbac.authorization.k8s.io/${lb}`, `rolebinding.rbac.authorization.k8s.io/${lb}`,
        `secret/${lb}-bgp`, `serviceaccount/${lb}`,
      ]);
      // No VIPPool allows the namespace (the chart is multi-tenant by default): refused, and said so.
      await eventually(async () => expect(condition(await plbs.get(app, 'web'), 'VIPAssigned')).toEqual(['False', 'VIPNotAllowed']));
      // Deleted: the LB pods in the release namespace go too (no owner reference reaches them; the finalizer does).
      await plbs.delete(app, 'web');
      await eventually(async () => {
        const left = await cp.kubectl(['get', '-n', ns, 'deployment,serviceaccount,role,rolebinding,secret', '-l', `${LABEL_PLB}=web`, '-o', 'name']);
        expect(left.stdout.trim()).toBe('');
      }, 60_000);
      // A Service of the class under the chart's RBAC: finalizer, owned PLB, conditions on the Service; deleted, gone.
      const core = cp.kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespacedService({
        namespace: app,
        body: { metadata: { name: 'shop' }, spec: { type: 'LoadBalancer', loadBalancerClass: 'portablelb.io/plb', selector: { app: 'shop' }, ports: [{ port: 80 }] } },
      });
      await eventually(async () => {
        const svc = await core.readNamespacedService({ namespace: app, name: 'shop' });
        expect(svc.metadata?.finalizers).toContain('service.kubernetes.io/load-balancer-cleanup');
        expect(svc.status?.conditions?.find((c) => c.type === 'portablelb.io/IPAllocated')?.reason).toBe('NoPool');
      }, 60_000);
      expect((await plbs.get(app, 'shop-ipv4')).metadata?.ownerReferences?.[0]?.kind).toBe('Service');
      await core.deleteNamespacedService({ namespace: app, name: 'shop' });
      await eventually(async () => expect(core.readNamespacedService({ namespace: app, name: 'shop' })).rejects.toMatchObject({ code: 404 }), 60_000);
      expect(operator.logs.join('\n')).not.toMatch(/forbidden/i);
    } catch (err) {
      console.log(operator.logs.slice(-40).join('\n'));
      throw err;
    }
  });

  test.each([
    ['patch', 'portableloadbalancers.portablelb.io --subresource=status', 'all', 'yes'],
    ['update', 'leases.coordination.k8s.io', 'NS', 'yes'],
    ['update', 'leases.coordination.k8s.io', 'default', 'no'],
    // LB pods a class puts in another namespace have no owner reference: the operator deletes them itself.
    ['delete', 'deployments.apps', 'all', 'yes'],
    ['get', 'secrets', 'all', 'no'],
    ['list', 'secrets', 'all', 'no'],
    ['get', 'secrets', 'NS', 'yes'],
    ['create', 'secrets', 'all', 'yes'],
    ['list', 'bgppeers.portablelb.io', 'all', 'yes'],
    ['create', 'bgppeers.portablelb.io', 'all', 'no'],
    // The admin's objects: read, never written (except a pool's status).
    ['list', 'vippools.portablelb.io', 'all', 'yes'],
    ['patch', 'vippools.portablelb.io --subresource=status', 'all', 'yes'],
    ['update', 'portableloadbalancers.portablelb.io --subresource=finalizers', 'all', 'yes'],
    ['create', 'vippools.portablelb.io', 'all', 'no'],
    ['patch', 'vippools.portablelb.io', 'all', 'no'],
    ['delete', 'vippools.portablelb.io', 'all', 'no'],
    ['watch', 'portableloadbalancerclasses.portablelb.io', 'all', 'yes'],
    ['patch', 'portableloadbalancerclasses.portablelb.io', 'all', 'no'],
    ['create', 'poddisruptionbudgets.policy', 'all', 'yes'],
    ['delete', 'poddisruptionbudgets.policy', 'all', 'yes'],
    ['watch', 'poddisruptionbudgets.policy', 'all', 'yes'],
    ['list', 'namespaces', 'all', 'yes'],
    ['patch', 'namespaces', 'all', 'no'],
    ['create', 'events', 'NS', 'yes'],
    ['list', 'events', 'all', 'no'],
    ['list', 'endpointslices.discovery.k8s.io', 'all', 'no'],
    ['create', 'clusterroles.rbac.authorization.k8s.io', 'all', 'no'],
    // The PLBs the Service controller makes (one per family) go when their Service goes.
    ['delete', 'portableloadbalancers.portablelb.io', 'all', 'yes'],
    ['patch', 'services', 'all', 'yes'],
    ['patch', 'services --subresource=status', 'all', 'yes'],
    ['update', 'services --subresource=finalizers', 'all', 'yes'],
    ['delete', 'services', 'all', 'no'],
    ['create', 'services', 'all', 'no'],
  ])("the chart's ServiceAccount: can-i %s %s (namespace %s) -> %s", async (verb, resource, where, answer) => {
    const scope = where === 'all' ? ['--all-namespaces'] : ['-n', where === 'NS' ? ns : where];
    const r = await cp.kubectl(['auth', 'can-i', verb, ...resource.split(' '), ...scope, `--as=system:serviceaccount:${ns}:${RELEASE}`]);
    expect(r.stdout.trim()).toBe(answer);
  });
});
