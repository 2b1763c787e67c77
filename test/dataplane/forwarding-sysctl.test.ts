// A failed ip_forward write is fatal on the real kernel: an LB pod whose /proc/sys is read-only (an unprivileged
// pod without the class's podSysctls) and whose netns does not forward is not ready, and says which sysctl and
// why. The same read-only /proc/sys with forwarding already on (the kubelet set it from the pod's securityContext)
// is ready and balances, although the advisory writes (send_redirects) fail there too.
// The read-only /proc/sys: a read-only bind mount of it over itself, made in the agent's own mount namespace
// (`ip netns exec` gives the command a private one, so nothing outside sees it). Root with every capability but
// CAP_SYS_RESOURCE, as here, can make it; writes then fail with EROFS, as in a container runtime's /proc/sys.
import { describe, expect, jest, test } from '@jest/globals';
import { inNs } from './support/netns.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';
import { Lab, PODS, plbYaml } from './support/lab.js';

jest.setTimeout(Number(process.env['PLB_TEST_TIMEOUT_MS'] ?? 180_000));

const READ_ONLY_PROC_SYS = ['sh', '-c', 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"', 'ro-proc-sys'];
const yaml = plbYaml({ dataPlane: 'nftables', backends: [{ ip: PODS.b1, weight: 1 }, { ip: PODS.b2, weight: 1 }] });
const readyz = (lab: Lab) => inNs(lab.topo.ns('lb'), ['node', '-e',
  'fetch("http://127.0.0.1:9470/readyz").then(async (r) => process.stdout.write(r.status + " " + (await r.text())))']);

/** The nftables agent under a read-only /proc/sys, in an LB namespace whose ip_forward was set to `value` first. */
function labWithForwarding(value: 0 | 1): Lab {
  const lab = new Lab(`plbfw${value}-${process.pid}-`);
  lab.agentPrefix = READ_ONLY_PROC_SYS;
  lab.aroundSuite(yaml, { prepare: (topo) => inNs(topo.ns('lb'), ['sysctl', '-qw', `net.ipv4.ip_forward=${value}`]).then(() => undefined) });
  return lab;
}

suiteIf(missingPrerequisites(null, ['nft']), 'forwarding sysctl')('forwarding on a read-only /proc/sys (real kernel, nftables)', () => {
  describe('ip_forward=0 before the agent starts', () => {
    const lab = labWithForwarding(0);

    test('not ready, the reason names ip_forward; the failed writes are in the log', async () => {
      const r = await readyz(lab);
      process.stderr.write(`forwarding-sysctl: ip_forward=0, read-only /proc/sys: readyz ${r.trim()}\n`);
      expect(r).toMatch(/^503 not ready: net\.ipv4\.ip_forward is 0: this pod's kernel does not forward VIP traffic/);
      expect(lab.agent.log()).toMatch(/could not set sysctl net\/ipv4\/ip_forward=1 \(EROFS\)/);
      expect(lab.agent.log()).toMatch(/not ready: net\.ipv4\.ip_forward is 0/);
      // what the pod would have claimed: the kernel really does not forward (the VIP times out, nothing is served)
      const t = await lab.http(lab.topo.ns('cli'), 4, 2);
      expect(t.failed).toBe(4);
    });
  });

  describe('ip_forward=1 before the agent starts', () => {
    const lab = labWithForwarding(1);

    test('ready and balancing: only forwarding is fatal, the failed send_redirects writes are warnings', async () => {
      const r = await readyz(lab);
      process.stderr.write(`forwarding-sysctl: ip_forward=1, read-only /proc/sys: readyz ${r.trim()}\n`);
      expect(r).toMatch(/^200/);
      expect(lab.agent.log()).toMatch(/warning: could not set sysctl net\/ipv4\/conf\/eth0\/send_redirects=0 \(EROFS\)/);
      const t = await lab.http(lab.topo.ns('cli'), 100, 10);
      expect(t.failed).toBe(0);
      expect(Object.keys(t.counts).sort()).toEqual(['b1', 'b2']);
    });
  });
});
