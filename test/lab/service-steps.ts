// The lab's tenancy steps (issue #16), next to the PLB the lab already runs:
//   serviceLoadBalancer  a second backend as a plain Service type LoadBalancer (class portablelb.io/plb): its VIP
//                        comes from a VIPPool, the LB pods announce it, traffic reaches its backends; deleting the
//                        Service withdraws the route, frees the address and removes the finalizer
//   vipConflict          another tenant's PLB asks for the lab PLB's VIP: VIPConflict, its LB pods program and
//                        announce nothing, the router and the traffic stay with the first owner
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import { LABEL_PLB } from '../../src/api/constants.js';
import { findCondition } from '../../src/api/conditions.js';
import { eventually, repoRoot } from '../integration/harness/index.js';
import { plbClient } from '../integration/support/plb-api.js';
import { tenancyClient } from '../integration/support/tenancy-api.js';
import { routeNextHops } from '../support/frr-router.js';
import { NAMESPACE, VIP, plbSpec } from './objects.js';
import { announcing, type Lab, type Step } from './under-load.js';

const exec = promisify(execFile);

/** The lab's Service addresses: routable in the lab only (the router learns them from the LB pods). */
export const SERVICE_POOL = { name: 'lab-services', addresses: ['10.243.201.0/28'] };

interface Tally {
  counts: Record<string, number>;
  failed: number;
}

async function trafficTo(lab: Lab, vip: string, requests: number): Promise<Tally> {
  const load = join(repoRoot, 'test/dataplane/support/load.mjs');
  const { stdout } = await exec('ip', ['netns', 'exec', lab.net.client, process.execPath, load, 'http', `http://${vip}/`, String(requests), '10', 'close']);
  return JSON.parse(stdout.trim().split('\n').pop()!) as Tally;
}

function apiDeployment(replicas: number): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: NAMESPACE },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: { containers: [{ name: 'api', image: 'lab/web-backend', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/', port: 'http' } } }] },
      },
    },
  };
}

const apiService: V1Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'api', namespace: NAMESPACE, annotations: { 'portablelb.io/pool': SERVICE_POOL.name } },
  spec: { type: 'LoadBalancer', loadBalancerClass: 'portablelb.io/plb', selector: { app: 'api' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
};

async function serviceLoadBalancer(lab: Lab, step: Step): Promise<boolean> {
  const name = 'a plain Service type LoadBalancer: VIP from the pool, announced, traffic to its backends; deleted: route withdrawn, address freed, finalizer gone';
  const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
  const admin = tenancyClient(lab.cp.kubeConfig);
  await admin.createPool(SERVICE_POOL.name, { addresses: SERVICE_POOL.addresses, namespaces: [NAMESPACE] });
  await lab.cp.kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: NAMESPACE, body: apiDeployment(2) });
  const created = Date.now();
  await core.createNamespacedService({ namespace: NAMESPACE, body: apiService });
  const plbs = plbClient(lab.cp.kubeConfig);
  try {
    // Ingress published, the PLB Ready, and the router routes the VIP to the PLB's announcing LB pods.
    const { svc, vip } = await eventually(async () => {
      const s = await core.readNamespacedService({ namespace: NAMESPACE, name: 'api' });
      const ip = s.status?.loadBalancer?.ingress?.[0]?.ip;
      if (!ip) throw new Error(`no ingress yet: ${findCondition(s.status?.conditions as never, 'portablelb.io/IPAllocated')?.message}`);
      const p = await plbs.get(NAMESPACE, 'api-ipv4');
      const want = announcing(p);
      const hops = await routeNextHops(lab.net.router, `${ip}/32`);
      // Every LB pod announcing first: one joining during the traffic moves connections in flight (ECMP rehash).
      if (want.length < (p.spec.replicas ?? 2) || hops.join() !== want.join()) throw new Error(`router ${hops.join(' ') || 'none'}, announcing ${want.join(' ') || 'none'}`);
      return { svc: s, vip: ip };
    }, 120_000, 250);
    const servedAfterMs = Date.now() - created;
    const t = await trafficTo(lab, vip, 600);
    const backends = Object.keys(t.counts).sort();
    const shown = await lab.cp.kubectl(['get', 'svc', '-n', NAMESPACE, 'api']);
    process.stdout.write(`\n$ kubectl get svc -n ${NAMESPACE} api\n${shown.stdout}\n`);
    lab.say(`Service api: ${vip} (${svc.status?.loadBalancer?.ingress?.[0]?.ipMode}) served ${servedAfterMs} ms after its creation; 600 requests: ${JSON.stringify(t.counts)}, ${t.failed} failed`);
    // The lab PLB is unaffected.
    const web = await trafficTo(lab, VIP, 300);

    await core.deleteNamespacedService({ namespace: NAMESPACE, name: 'api' });
    const deleted = Date.now();
    await eventually(async () => {
      const gone = await core.readNamespacedService({ namespace: NAMESPACE, name: 'api' }).then(() => false, () => true);
      if (!gone) throw new Error('the Service is still there (finalizer)');
      const hops = await routeNextHops(lab.net.router, `${vip}/32`);
      if (hops.length > 0) throw new Error(`the router still routes ${vip} via ${hops.join(' ')}`);
      const lbPods = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${LABEL_PLB}=api-ipv4` })).items;
      if (lbPods.length > 0) throw new Error(`${lbPods.length} LB pods of api-ipv4 left`);
    }, 90_000, 250);
    const goneAfterMs = Date.now() - deleted;
    const pool = await eventually(async () => {
      const p = await admin.getPool(SERVICE_POOL.name);
      if (p.status?.ipv4?.used !== 0) throw new Error(`pool still counts ${p.status?.ipv4?.used} used`);
      return p;
    }, 30_000, 250);
    const ok = vip.startsWith('10.243.201.') && svc.status?.loadBalancer?.ingress?.[0]?.ipMode === 'Proxy' && t.failed === 0 &&
      backends.length === 2 && backends.every((b) => b.startsWith('api-')) && web.failed === 0 && Object.keys(web.counts).every((b) => b.startsWith('web-'));
    return step(name, ok, { vip, servedAfterMs, counts: t.counts, failed: t.failed, webStillServed: web.failed === 0, goneAfterMs, poolAfter: pool.status?.ipv4 });
  } catch (error) {
    return step(name, false, (error as Error).message);
  } finally {
    await core.deleteNamespacedService({ namespace: NAMESPACE, name: 'api' }).catch(() => undefined);
    await lab.cp.kubeConfig.makeApiClient(AppsV1Api).deleteNamespacedDeployment({ namespace: NAMESPACE, name: 'api' }).catch(() => undefined);
    await admin.deletePool(SERVICE_POOL.name).catch(() => undefined);
  }
}

const INTRUDER = 'intruder';

async function vipConflict(lab: Lab, step: Step): Promise<boolean> {
  const name = `another tenant's PLB asks for ${VIP}: VIPConflict, its LB pods program and announce nothing, the first owner keeps the route and the traffic`;
  const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
  const plbs = plbClient(lab.cp.kubeConfig);
  await core.createNamespace({ body: { metadata: { name: INTRUDER } } });
  try {
    const before = announcing(await plbs.get(NAMESPACE, 'web'));
    // Backends of its own, so it would have something to serve if it were let.
    await lab.cp.kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: INTRUDER,
      body: { ...apiDeployment(1), metadata: { name: 'fake', namespace: INTRUDER }, spec: { ...apiDeployment(1).spec!, selector: { matchLabels: { app: 'web' } }, template: { ...apiDeployment(1).spec!.template, metadata: { labels: { app: 'web' } } } } },
    });
    await plbs.create(INTRUDER, 'steal', plbSpec);
    // Its LB pods run and report: holding no VIP, programming nothing.
    const intruder = await eventually(async () => {
      const p = await plbs.get(INTRUDER, 'steal');
      const ready = findCondition(p.status?.conditions, 'Ready');
      const entries = p.status?.loadBalancers ?? [];
      if (ready?.reason !== 'VIPConflict' || entries.length < 2 || !entries.every((e) => e.reason === 'VIPNotAssigned')) {
        throw new Error(`Ready=${ready?.status} ${ready?.reason}; entries ${JSON.stringify(entries.map((e) => e.reason))}`);
      }
      return p;
    }, 120_000, 250);
    const intruderIps = (intruder.status?.loadBalancers ?? []).map((e) => e.podIP!);
    // In the kernel: no program on the intruder's LB pods' eth0 (the lab PLB's own pods, xdp at the TC hook, have one).
    const kernel = async (namespace: string, pod: string) => {
      const where = lab.kubelet.pod(namespace, pod);
      if (!where) return 'no such pod';
      const { stdout } = await exec('tc', ['-n', where.ns, 'filter', 'show', 'dev', 'eth0', 'ingress']);
      return stdout.trim() === '' ? 'nothing' : 'a tc program';
    };
    const intruderKernels = await Promise.all((intruder.status?.loadBalancers ?? []).map((e) => kernel(INTRUDER, e.pod)));
    const ownerKernels = await Promise.all(((await plbs.get(NAMESPACE, 'web')).status?.loadBalancers ?? []).map((e) => kernel(NAMESPACE, e.pod)));
    const announcedByIntruder = (intruder.status?.loadBalancers ?? []).some((e) => (e.sessions ?? []).some((s) => s.announced));
    const hops = await routeNextHops(lab.net.router, `${VIP}/32`);
    const t = await trafficTo(lab, VIP, 600);
    const web = await plbs.get(NAMESPACE, 'web');
    const ok = intruder.status?.vip === undefined && !announcedByIntruder && !hops.some((h) => intruderIps.includes(h)) &&
      intruderKernels.every((k) => k === 'nothing') && ownerKernels.every((k) => k === 'a tc program') &&
      hops.join() === before.join() && t.failed === 0 && Object.keys(t.counts).every((b) => b.startsWith('web-')) &&
      web.status?.vip === VIP && findCondition(web.status?.conditions, 'Ready')?.status === 'True';
    lab.say(`intruder PLB: ${findCondition(intruder.status?.conditions, 'VIPAssigned')?.message}; router ${hops.join(' ')}; 600 requests: ${JSON.stringify(t.counts)}`);
    return step(name, ok, {
      message: findCondition(intruder.status?.conditions, 'Ready')?.message, intruderPods: intruderIps, intruderKernels, ownerKernels,
      routerHops: hops, counts: t.counts, failed: t.failed,
    });
  } catch (error) {
    return step(name, false, (error as Error).message);
  } finally {
    await core.deleteNamespace({ name: INTRUDER }).catch(() => undefined);
  }
}

export const serviceSteps = { serviceLoadBalancer, vipConflict };
