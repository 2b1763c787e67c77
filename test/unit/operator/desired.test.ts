// Golden scenarios: test/fixtures/<case>/plb.yaml in, the planned child objects out (expected.yaml).
// UPDATE_GOLDEN=1 rewrites expected.yaml; review the diff like code.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { V1Deployment } from '@kubernetes/client-node';
import type { PortableLoadBalancer } from '../../../src/api/generated.js';
import { plannedChildren } from '../../../src/operator/apply-plan.js';
import { DETACH_MARGIN_SECONDS, desiredChildren, type OperatorSettings } from '../../../src/operator/desired.js';

const fixtures = join(process.cwd(), 'test/fixtures');
const settings: OperatorSettings = { agentImage: 'portable-lb:0.1.0', imagePullPolicy: 'IfNotPresent', agentLogLevel: 'info' };
const cases = readdirSync(fixtures).filter((d) => existsSync(join(fixtures, d, 'plb.yaml')));
const load = (c: string) => yaml.load(readFileSync(join(fixtures, c, 'plb.yaml'), 'utf8')) as PortableLoadBalancer;

describe('desired children (golden fixtures)', () => {
  it('has at least one golden case per data plane', () => {
    expect(new Set(cases.map((c) => load(c).spec.dataPlane))).toEqual(new Set(['xdp', 'ipvs', 'nftables']));
  });

  it.each(cases)('%s: plb.yaml becomes expected.yaml', (c) => {
    const got = yaml.dump(plannedChildren(load(c), settings), { noRefs: true, lineWidth: 120 });
    const file = join(fixtures, c, 'expected.yaml');
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, got);
    expect(got).toBe(readFileSync(file, 'utf8'));
  });
});

describe('BGP in the LB pod', () => {
  const plb = load('xdp-selector-defaults');
  const peers = { peers: [{ name: 'tor', peerAddress: '10.0.0.1', peerASN: 64500, myASN: 64512, peerPort: 179, holdTime: 9, keepaliveTime: 3,
    connectTime: 2, ebgpMultihop: false, nextHopMode: 'PodIP' as const, password: 's3cret' }] };

  it('runs BIRD in its own speaker container, unprivileged but for binding BGP/BFD ports and BFD\'s sockets', () => {
    const spec = desiredChildren(plb, settings).deployment.spec!.template.spec!;
    const speaker = spec.containers.find((c) => c.name === 'speaker')!;
    expect(speaker.command?.join(' ')).toContain('exec bird -f -c "$BIRD_DIR/bird.conf" -s "$BIRD_DIR/bird.ctl"');
    expect(speaker.securityContext).toEqual({
      runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE', 'NET_RAW'] },
    });
    expect(speaker.volumeMounts).toEqual([{ name: 'bird', mountPath: '/run/portable-lb/bird' }]);
    const agent = spec.containers.find((c) => c.name === 'agent')!;
    expect(agent.env).toEqual(expect.arrayContaining([{ name: 'PLB_BIRD_DIR', value: '/run/portable-lb/bird' }]));
  });

  it('hands the peers over as an optional Secret volume, and a peer change does not roll the LB pods', () => {
    const without = desiredChildren(plb, settings);
    const withPeers = desiredChildren(plb, settings, undefined, peers);
    expect(withPeers.deployment.spec!.template).toEqual(without.deployment.spec!.template);
    expect(withPeers.deployment.metadata?.annotations?.['portablelb.io/bgp-peers-hash']).not.toBe(without.deployment.metadata?.annotations?.['portablelb.io/bgp-peers-hash']);
    expect(JSON.parse(withPeers.bgpSecret.stringData!['peers.json']!)).toEqual(peers);
    expect(without.deployment.spec!.template.spec!.volumes).toEqual(expect.arrayContaining([
      { name: 'bgp-peers', secret: { secretName: 'web-lb-bgp', optional: true, defaultMode: 0o400 } },
    ]));
  });
});

describe('desired Deployment', () => {
  const plb = load('xdp-selector-defaults');
  const deployment = (p: PortableLoadBalancer = plb): V1Deployment => desiredChildren(p, settings).deployment;
  const agent = (d: V1Deployment) => d.spec!.template.spec!.containers[0]!;
  const env = (d: V1Deployment, name: string) => agent(d).env?.find((e) => e.name === name);

  it('keeps capacity during rollouts: surge one pod, never take one away first', () => {
    expect(deployment().spec?.strategy?.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
  });

  it('runs the agent with its data plane\'s capabilities (never privileged); it knows its pod, namespace, IP, node and PLB', () => {
    const d = deployment();
    expect(agent(d).securityContext?.privileged).toBeUndefined();
    expect(agent(d).securityContext?.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'BPF', 'PERFMON'] });
    expect(env(d, 'PLB_NAMESPACE')?.value).toBe('shop');
    expect(env(d, 'POD_IPS')?.valueFrom?.fieldRef?.fieldPath).toBe('status.podIPs');
    expect(env(d, 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(env(d, 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    expect(env(d, 'POD_UID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.uid');
    expect(env(d, 'POD_IP')?.valueFrom?.fieldRef?.fieldPath).toBe('status.podIP');
    expect(env(d, 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
    expect(env(d, 'PLB_NAME')?.value).toBe('web');
  });

  it('is ready only when the agent says the kernel holds the desired state', () => {
    expect(agent(deployment()).readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'health' });
  });

  it('spreads replicas over nodes by a topology spread constraint, not a preference', () => {
    const spec = deployment().spec?.template.spec;
    expect(spec?.affinity).toBeUndefined();
    const c = spec?.topologySpreadConstraints?.find((x) => x.topologyKey === 'kubernetes.io/hostname');
    expect([c?.whenUnsatisfiable, c?.maxSkew]).toEqual(['DoNotSchedule', 1]);
    expect(c?.labelSelector?.matchLabels).toEqual(deployment().spec?.selector.matchLabels);
  });

  it('has a PodDisruptionBudget named like the Deployment with more than one replica, none with one', () => {
    const pdb = desiredChildren({ ...plb, spec: { ...plb.spec, replicas: 2 } }, settings).podDisruptionBudget;
    expect(pdb?.metadata?.name).toBe(deployment().metadata?.name);
    expect(pdb?.spec?.selector?.matchLabels).toEqual(deployment().spec?.selector.matchLabels);
    expect(desiredChildren({ ...plb, spec: { ...plb.spec, replicas: 1 } }, settings).podDisruptionBudget).toBeUndefined();
  });

  it.each([
    { dataPlane: 'xdp' as const, want: 'xdp' },
    { dataPlane: 'ipvs' as const, want: 'ipvs' },
    { dataPlane: 'nftables' as const, want: 'nftables' },
    { dataPlane: undefined, want: 'xdp' },
  ])('passes data plane $dataPlane to the agent as $want, so a switch rolls the pods', ({ dataPlane, want }) => {
    const { dataPlane: _, ...rest } = plb.spec;
    const d = deployment({ ...plb, spec: { ...rest, ...(dataPlane ? { dataPlane } : {}) } });
    expect(env(d, 'PLB_DATA_PLANE')?.value).toBe(want);
  });

  it.each([
    { name: 'backend changes', change: { backends: { addresses: [{ ip: '10.0.0.9' }] } } },
    { name: 'overlay changes', change: { overlay: { mode: 'vxlan' as const } } },
    { name: 'CPU spreading changes', change: { cpuSpreading: { rps: true, cpus: '0-1' } } },
    { name: 'port changes', change: { ports: [{ port: 8443, protocol: 'TCP' as const }] } },
  ])('does not roll the LB pods when only the $name (the agent applies them live)', ({ change }) => {
    const changed = deployment({ ...plb, spec: { ...plb.spec, ...change } });
    expect(changed.spec?.template).toEqual(deployment().spec?.template);
  });

  it('scales with spec.replicas and defaults to two', () => {
    expect(deployment({ ...plb, spec: { ...plb.spec, replicas: 5 } }).spec?.replicas).toBe(5);
    const { replicas: _, ...rest } = plb.spec;
    expect(deployment({ ...plb, spec: rest }).spec?.replicas).toBe(2);
  });

  it.each([
    { drainSeconds: undefined, env: '10', grace: 10 + DETACH_MARGIN_SECONDS },
    { drainSeconds: 3, env: '3', grace: 3 + DETACH_MARGIN_SECONDS },
    { drainSeconds: 0, env: '0', grace: DETACH_MARGIN_SECONDS },
    { drainSeconds: 300, env: '300', grace: 300 + DETACH_MARGIN_SECONDS },
  ])('gives a deleted LB pod drainSeconds $drainSeconds to drain (PLB_DRAIN_SECONDS $env) and $grace s before SIGKILL', ({ drainSeconds, env: want, grace }) => {
    const { drainSeconds: _, ...rest } = plb.spec;
    const d = deployment({ ...plb, spec: { ...rest, ...(drainSeconds !== undefined ? { drainSeconds } : {}) } });
    expect(env(d, 'PLB_DRAIN_SECONDS')?.value).toBe(want);
    expect(d.spec?.template.spec?.terminationGracePeriodSeconds).toBe(grace);
  });

  it('owns every child through a controller owner reference', () => {
    for (const child of Object.values(desiredChildren(plb, settings))) {
      expect(child.metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'PortableLoadBalancer', name: 'web', uid: plb.metadata!.uid, controller: true }),
      ]);
    }
  });

  it('grants the agent only its own PLB, its status, and Pods of the namespace (its BGP peers come as a volume)', () => {
    const { role } = desiredChildren(plb, settings);
    expect(role.rules).toEqual([
      expect.objectContaining({ resources: ['portableloadbalancers'], resourceNames: ['web'], verbs: ['get', 'list', 'watch'] }),
      expect.objectContaining({ resources: ['portableloadbalancers/status'], resourceNames: ['web'], verbs: ['get', 'patch'] }),
      expect.objectContaining({ resources: ['pods'], verbs: ['get', 'list', 'watch'] }),
    ]);
    expect(role.rules!.flatMap((r) => r.verbs)).not.toContain('delete');
  });
});
