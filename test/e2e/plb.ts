// One PortableLoadBalancer under test: its namespace (with backends), reads of its status, waiting for it, and
// what to print when something fails (describe, the LB pods' and the operator's logs).
import { randomBytes } from 'node:crypto';
import { expect } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import type { PortableLoadBalancer } from '../../src/api/generated.js';
import { LABEL_PLB } from '../../src/api/constants.js';
import { eventually, kubectl, kubectlJson } from './kube.js';
import { backendManifest, namespaceManifest, plbManifest, poolManifest } from './manifests.js';
import { LABEL_PLB_NAMESPACE } from '../../src/operator/naming.js';

export const RELEASE_NAMESPACE = 'portable-lb-system';

export class PlbUnderTest {
  readonly namespace: string;

  constructor(readonly image: string, readonly vip: string, label: string) {
    this.namespace = `e2e-${label}-${randomBytes(2).toString('hex')}`;
  }

  get url(): string {
    return `http://${this.vip}/`;
  }

  /** The tenant's namespace, and (as the admin) a VIPPool granting it the VIP. */
  async createNamespace(): Promise<void> {
    await kubectl(['apply', '-f', '-'], namespaceManifest(this.namespace));
    await kubectl(['apply', '-f', '-'], poolManifest(this.namespace, this.namespace, [`${this.vip}/32`]));
  }

  async backends(replicas: number): Promise<void> {
    await kubectl(['-n', this.namespace, 'apply', '-f', '-'], backendManifest(this.image, replicas));
    await kubectl(['-n', this.namespace, 'rollout', 'status', 'deployment/web', '--timeout=180s']);
  }

  async apply(dataPlane: string, replicas: number): Promise<void> {
    await kubectl(['-n', this.namespace, 'apply', '-f', '-'], plbManifest(this.vip, dataPlane, replicas));
  }

  get(): Promise<PortableLoadBalancer> {
    return kubectlJson<PortableLoadBalancer>(['-n', this.namespace, 'get', 'plb', 'web']);
  }

  /**
   * This PLB's LB pods, wherever its class runs them: in its own namespace, or in another one (the default class:
   * the release namespace) with a label naming its namespace.
   */
  async lbPods(): Promise<V1Pod[]> {
    const all = (await kubectlJson<{ items: V1Pod[] }>(['get', 'pods', '-A', '-l', `${LABEL_PLB}=web`])).items;
    return all.filter((p) => p.metadata?.namespace === this.namespace || p.metadata?.labels?.[LABEL_PLB_NAMESPACE] === this.namespace);
  }

  /** Ready=True at the current generation with `replicas` ready entries in status.loadBalancers[] (asserts). */
  async expectReady(replicas: number): Promise<PortableLoadBalancer> {
    const p = await this.get();
    expect(condition(p, 'Ready')).toMatchObject({ status: 'True', observedGeneration: p.metadata?.generation });
    const ready = (p.status?.loadBalancers ?? []).filter((e) => e.ready && e.programmedGeneration === p.metadata?.generation);
    expect(ready).toHaveLength(replicas);
    return p;
  }

  /** expectReady, polled; on timeout the PLB, its pods and the logs are printed. */
  waitReady(replicas: number, timeoutMs = 240_000, also?: (p: PortableLoadBalancer) => void): Promise<PortableLoadBalancer> {
    return eventually(async () => {
      const p = await this.expectReady(replicas);
      also?.(p);
      return p;
    }, timeoutMs).catch(async (err: unknown) => {
      await this.diagnose();
      throw err;
    });
  }

  async diagnose(): Promise<void> {
    const show = async (args: string[]) => console.log(`$ kubectl ${args.join(' ')}\n${await kubectl(args).catch(String)}`);
    await show(['-n', this.namespace, 'describe', 'plb', 'web']);
    await show(['get', 'pods', '-A', '-o', 'wide']);
    for (const p of await this.lbPods().catch(() => [])) {
      await show(['-n', p.metadata!.namespace!, 'logs', p.metadata!.name!, '--tail=30']);
    }
    await show(['-n', RELEASE_NAMESPACE, 'logs', '-l', 'app.kubernetes.io/name=portable-lb', '--tail=40', '--prefix']);
  }

  async deleteNamespace(): Promise<void> {
    await kubectl(['delete', 'namespace', this.namespace, '--wait=false']).catch(() => undefined);
    await kubectl(['delete', 'vippool', this.namespace, '--ignore-not-found']).catch(() => undefined);
  }
}

export const condition = (p: PortableLoadBalancer, type: string) => p.status?.conditions?.find((c) => c.type === type);
