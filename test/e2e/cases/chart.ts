// `helm install` of the chart as the README's "Install into a real cluster" gives it, with the image on the
// nodes already (no registry: pull policy Never): the operator's two replicas roll out, one holds the Lease.
import { describe, expect, test } from '@jest/globals';
import { helm, kubectl, kubectlJson, eventually } from '../kube.js';
import { condition, PlbUnderTest, RELEASE_NAMESPACE } from '../plb.js';
import type { Provider } from '../provider.js';

/** The helm command line of the README, for an image that is on the nodes already. */
export function installArgs(image: string): string[] {
  const repository = image.slice(0, image.lastIndexOf(':'));
  const tag = image.slice(image.lastIndexOf(':') + 1);
  return ['install', 'portable-lb', 'charts/portable-lb', '-n', RELEASE_NAMESPACE, '--create-namespace',
    '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`,
    '--set', 'image.pullPolicy=Never', '--set', 'agent.image.pullPolicy=Never', '--wait', '--timeout', '180s'];
}

export function chartCases(provider: Provider): void {
  describe(`the chart (${provider.name})`, () => {
    test('helm install runs two operator replicas, one of them holding the Lease', async () => {
      await helm(['uninstall', 'portable-lb', '-n', RELEASE_NAMESPACE, '--wait']).catch(() => undefined);
      await helm(installArgs(provider.image));
      // The API server's built-in Pod Security default is privileged; a cluster's admin usually sets a stricter
      // one. Start the release namespace at baseline, as such a cluster would, so that README's step 2 matters.
      await kubectl(['label', 'namespace', RELEASE_NAMESPACE, 'pod-security.kubernetes.io/enforce=baseline', '--overwrite']);
      await kubectl(['-n', RELEASE_NAMESPACE, 'rollout', 'status', 'deployment/portable-lb', '--timeout=120s']);
      const deployment = await kubectlJson<{ status: { readyReplicas?: number } }>(['-n', RELEASE_NAMESPACE, 'get', 'deployment', 'portable-lb']);
      expect(deployment.status.readyReplicas).toBe(2);
      await eventually(async () => {
        const lease = await kubectlJson<{ spec?: { holderIdentity?: string } }>(['-n', RELEASE_NAMESPACE, 'get', 'lease', 'portable-lb-operator']);
        expect(lease.spec?.holderIdentity).toMatch(/^portable-lb-/);
      }, 60_000);
    });

    test('Pod Security refuses the default class\'s LB pods with a condition where they are not allowed, and admits them once the namespace is labelled as README step 2 says', async () => {
      const plb = new PlbUnderTest(provider.image, PSA_VIP, 'psa');
      try {
        await plb.createNamespace();
        await plb.backends(1);
        await plb.apply('nftables', 1);
        const refused = await eventually(async () => {
          const deployments = await kubectlJson<{ items: Array<{ status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } }> }>(
            ['-n', RELEASE_NAMESPACE, 'get', 'deployments', '-l', `portablelb.io/namespace=${plb.namespace}`]);
          const failure = deployments.items[0]?.status?.conditions?.find((c) => c.type === 'ReplicaFailure');
          expect(failure).toMatchObject({ status: 'True', reason: 'FailedCreate' });
          // What baseline refuses: the network capabilities (and, for xdp, the node's bpffs).
          expect(failure?.message).toMatch(/violates PodSecurity "baseline:latest": non-default capabilities .*NET_ADMIN/);
          // The tenant sees why on the PLB, without access to the release namespace.
          const ready = condition(await plb.get(), 'Ready');
          expect(ready).toMatchObject({ status: 'False', reason: 'FailedCreate' });
          expect(ready?.message).toMatch(/cannot create LB pods: .*violates PodSecurity "baseline:latest"/);
          return { deployment: failure?.message, ready };
        }, 120_000);
        console.log(`refused by Pod Security: ${JSON.stringify(refused)}`);
        // README step 2: the level the LB pods need. The ReplicaSet's next retry creates the pod (the data-plane
        // cases below run in this namespace too).
        const labelled = Date.now();
        await kubectl(['label', 'namespace', RELEASE_NAMESPACE, 'pod-security.kubernetes.io/enforce=privileged', '--overwrite']);
        await plb.waitReady(1, 180_000);
        console.log(`admitted and Ready ${Date.now() - labelled} ms after the release namespace was labelled privileged`);
      } finally {
        await kubectl(['label', 'namespace', RELEASE_NAMESPACE, 'pod-security.kubernetes.io/enforce=privileged', '--overwrite']);
        await kubectl(['-n', plb.namespace, 'delete', 'plb', 'web', '--wait=true', '--timeout=60s']).catch(() => undefined);
        await plb.deleteNamespace();
      }
    });
  });
}

const PSA_VIP = '198.51.100.79';
