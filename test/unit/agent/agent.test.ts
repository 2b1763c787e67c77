import { describe, expect, test } from '@jest/globals';
import { Agent } from '../../../src/agent/agent.js';
import { fileSource } from '../../../src/agent/file-source.js';
import type { ApplyResult, DataPlane, DataPlaneObservation, DesiredState } from '../../../src/dataplane/types.js';

class RecordingDataPlane implements DataPlane {
  readonly name = 'xdp' as const;
  applied: DesiredState[] = [];
  failWith: Error | null = null;
  warnings: string[] = [];
  async apply(desired: DesiredState): Promise<ApplyResult> {
    if (this.failWith) throw this.failWith;
    this.applied.push(desired);
    return { changed: true, attach: 'tc', warnings: [] };
  }
  async observe(): Promise<DataPlaneObservation> {
    return { dataPlane: 'xdp', attach: 'tc', interface: 'eth0', warnings: this.warnings, services: [], backends: [], global: {} };
  }
  async close(): Promise<void> {}
}

const good = (backend: string) => `apiVersion: portablelb.io/v1alpha1
kind: PortableLoadBalancer
spec:
  vip: 192.0.2.10
  ports: [{port: 80}]
  backends: {addresses: [{ip: ${backend}}]}
`;

function setup(initial: string) {
  const dp = new RecordingDataPlane();
  const logs: string[] = [];
  const file = { text: initial };
  const agent = new Agent({
    dataPlane: dp,
    log: (m) => logs.push(m),
    source: fileSource(async () => ({ text: file.text, source: 'plb.yaml' }), {
      resolve: async () => ({ interface: 'eth0', snatIp: '10.0.0.3' }),
    }),
  });
  return { dp, logs, file, agent };
}

describe('Agent', () => {
  test('a kernel that does not forward is not ready, even after a good apply, and says why', async () => {
    const { dp, file } = setup(good('10.0.1.1'));
    let forwarding: string | undefined;
    const logs: string[] = [];
    const agent = new Agent({
      dataPlane: dp,
      log: (m) => logs.push(m),
      source: fileSource(async () => ({ text: file.text, source: 'plb.yaml' }), { resolve: async () => ({ interface: 'eth0', snatIp: '10.0.0.3' }) }),
      checkForwarding: async () => forwarding,
    });
    await agent.sync();
    expect(agent.health.ready).toBe(true);
    forwarding = 'net.ipv4.ip_forward is 0: this pod\'s kernel does not forward VIP traffic';
    await agent.sync();
    // not "still serving the last good state": nothing it translates is forwarded
    expect(agent.health).toEqual({ ready: false, applies: 2, applyErrors: 1 });
    expect(agent.lastError).toMatch(/ip_forward is 0/);
    expect(logs.at(-1)).toMatch(/^not ready: net\.ipv4\.ip_forward is 0/);
    forwarding = undefined;
    await agent.sync();
    expect(agent.health.ready).toBe(true);
    expect(agent.lastError).toBeNull();
  });

  test('applies the file with the environment filled in and becomes ready', async () => {
    const { dp, agent } = setup(good('10.0.1.1'));
    await agent.sync();
    expect(dp.applied).toHaveLength(1);
    expect(dp.applied[0]).toMatchObject({ vip: '192.0.2.10', interface: 'eth0', snatIp: '10.0.0.3', backends: [{ ip: '10.0.1.1', weight: 1 }] });
    expect(agent.health).toEqual({ ready: true, applies: 1, applyErrors: 0 });
  });

  test('a bad file keeps the last good state programmed and reports the field', async () => {
    const { dp, agent, file, logs } = setup(good('10.0.1.1'));
    await agent.sync();
    file.text = good('10.0.1');
    await agent.sync();
    expect(dp.applied).toHaveLength(1);
    expect(agent.health).toEqual({ ready: true, applies: 2, applyErrors: 1 });
    expect(agent.lastError).toMatch(/spec\.backends\.addresses\[0\]\.ip/);
    expect(logs.at(-1)).toMatch(/still serving the last good state/);
  });

  test('a bad file at start leaves the agent not ready', async () => {
    const { dp, agent } = setup('kind: Nope');
    await agent.sync();
    expect(dp.applied).toHaveLength(0);
    expect(agent.health.ready).toBe(false);
    expect(agent.lastError).toMatch(/^invalid plb\.yaml: /);
  });

  test('a kernel error is reported, not thrown', async () => {
    const { dp, agent } = setup(good('10.0.1.1'));
    dp.failWith = new Error('attach tc ingress filter: Operation not permitted');
    await agent.sync();
    expect(agent.lastError).toBe('attach tc ingress filter: Operation not permitted');
    expect(agent.health.applyErrors).toBe(1);
  });

  test('syncs requested while one runs are folded into one follow-up', async () => {
    const { dp, agent, file } = setup(good('10.0.1.1'));
    const first = agent.sync();
    file.text = good('10.0.1.2');
    const second = agent.sync();
    const third = agent.sync();
    await Promise.all([first, second, third]);
    expect(dp.applied.map((d) => d.backends[0]!.ip)).toEqual(['10.0.1.1', '10.0.1.2']);
  });

  test('logs each warning found by observing the data plane once, and again if it comes back', async () => {
    const { dp, agent, logs } = setup(good('10.0.1.1'));
    dp.warnings = ['native XDP on eth0: no reply packets'];
    await agent.sync();
    await agent.sync();
    dp.warnings = [];
    await agent.sync();
    dp.warnings = ['native XDP on eth0: no reply packets'];
    await agent.sync();
    expect(logs.filter((l) => l === 'warning: native XDP on eth0: no reply packets')).toHaveLength(2);
  });
});
