// shareConnections: client-node makes a new https.Agent (a new TLS connection and context) per request; every
// request of one KubeConfig must get one kept-alive pool per set of credentials instead.
import { afterEach, describe, expect, test } from '@jest/globals';
import { Agent, request } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { resetConnections, shareConnections } from '../../../src/runtime/connections.js';

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

/**
 * A TCP server that takes a TLS client's first bytes and never answers: every request stays in flight.
 * `heard` counts connections whose first bytes (the ClientHello) arrived: the client has sent data then, so
 * what it does next is what a connection with unacked data in flight does.
 */
async function silentServer(): Promise<{ server: Server; port: number; closed: Promise<'fin' | 'rst'>[]; heard: () => number }> {
  const closed: Promise<'fin' | 'rst'>[] = [];
  let heard = 0;
  const server = createServer({ allowHalfOpen: true }, (s: Socket) => {
    closed.push(new Promise((resolve) => {
      s.on('end', () => resolve('fin'));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNRESET' ? 'rst' : 'fin'));
    }));
    s.once('data', () => heard++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, closed, heard: () => heard };
}

/** A request through `agent` that the server leaves unanswered; resolves once the server has its first bytes. */
async function inFlight(agent: Agent, port: number, heard: () => number, signal?: AbortSignal): Promise<void> {
  const before = heard();
  const req = request({ agent, host: '127.0.0.1', port, path: '/', method: 'PUT', ...(signal ? { signal } : {}) });
  req.on('error', () => undefined);
  req.end('{"a write":"that must not arrive late"}');
  while (heard() === before) await new Promise((r) => setTimeout(r, 10));
}

describe('connections are given up with an RST, so nothing unacked arrives later', () => {
  const plainKc = () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    return kc;
  };

  test.each([
    ['an aborted request, plain https.Agent (what client-node makes)', 'fin', false, 'abort'],
    ['an aborted request, the shared pool', 'rst', true, 'abort'],
    ['resetConnections() with a request in flight', 'rst', true, 'reset'],
  ] as const)('%s: the server sees a %s', async (_name, want, shared, how) => {
    const { server, port, closed, heard } = await silentServer();
    try {
      const kc = plainKc();
      const agent = (shared ? await agentOf(shareConnections(kc)) : new Agent({ rejectUnauthorized: false })) as Agent;
      if (!shared) made.push(agent);
      const abort = new AbortController();
      await inFlight(agent, port, heard, abort.signal);
      if (how === 'abort') abort.abort();
      else expect(resetConnections()).toBeGreaterThanOrEqual(1);
      expect(await closed[0]).toBe(want);
    } finally {
      server.close();
    }
  });
});
