// shareConnections: client-node makes a new https.Agent (a new TLS connection and context) per request; every
// request of one KubeConfig must get one kept-alive pool per set of credentials instead.
import { afterEach, describe, expect, test } from '@jest/globals';
import { Agent } from 'node:https';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { shareConnections } from '../../../src/runtime/connections.js';

const made: Agent[] = [];
afterEach(() => {
  for (const a of made.splice(0)) a.destroy();
});

function kubeConfig(user: { token?: string; certData?: string; keyData?: string }, proxyUrl?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: Buffer.from('-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n').toString('base64'), skipTLSVerify: false, ...(proxyUrl ? { proxyUrl } : {}) }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

async function agentOf(kc: KubeConfig): Promise<unknown> {
  const context = new RequestContext('https://127.0.0.1:6443/api/v1/pods', HttpMethod.GET);
  await kc.applySecurityAuthentication(context);
  const agent = context.getAgent();
  if (agent instanceof Agent) made.push(agent);
  return agent;
}

describe('shareConnections', () => {
  test('without it, every request gets a new agent (what client-node 1.4 does)', async () => {
    const kc = kubeConfig({ token: 't' });
    expect(await agentOf(kc)).not.toBe(await agentOf(kc));
  });

  test('every request of one KubeConfig reuses one kept-alive agent', async () => {
    const kc = shareConnections(kubeConfig({ token: 't' }));
    const a = await agentOf(kc);
    expect(await agentOf(kc)).toBe(a);
    expect(a).toBeInstanceOf(Agent);
    expect((a as Agent).options.keepAlive).toBe(true);
  });

  test('the bearer token stays per request (a header), not in the shared agent', async () => {
    const kc = shareConnections(kubeConfig({ token: 'secret' }));
    const context = new RequestContext('https://127.0.0.1:6443/api', HttpMethod.GET);
    await kc.applySecurityAuthentication(context);
    expect(context.getHeaders()['Authorization']).toBe('Bearer secret');
  });

  test('other credentials (a rotated client certificate) get another pool', async () => {
    const kc = shareConnections(kubeConfig({ certData: Buffer.from('cert-1').toString('base64'), keyData: Buffer.from('key-1').toString('base64') }));
    const first = await agentOf(kc);
    kc.users[0] = { ...kc.users[0]!, certData: Buffer.from('cert-2').toString('base64') };
    expect(await agentOf(kc)).not.toBe(first);
  });

  test('a proxy agent is left as client-node made it', async () => {
    const kc = shareConnections(kubeConfig({ token: 't' }, 'http://127.0.0.1:3128'));
    const a = await agentOf(kc);
    expect((a as object).constructor).not.toBe(Agent);
    expect(await agentOf(kc)).not.toBe(a);
  });
});
