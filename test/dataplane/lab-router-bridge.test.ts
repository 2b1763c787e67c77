// The lab's router bridge keeps one MAC address while pods' ports join and leave it. A Linux bridge without an
// address of its own takes the lowest MAC of its ports: when the port that lent it leaves (a pod deleted), the
// router's address moves to another MAC, and every LB pod that learned the old one sends BGP (and its reconnects)
// into the void until its neighbour entry goes stale and fails over to a broadcast ARP: 27-37 s reconnects after
// pod churn in `make lab`. This runs the lab's own topology code (test/lab/pod-network.ts) with a real FRR router
// and a BIRD speaker in a pod, and measures how long that pod's BGP takes to come back after the churn.
import { expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderBirdConfig } from '../../src/agent/bgp/bird-config.js';
import { FrrRouter } from '../support/frr-router.js';
import { LB_ASN, PodNetwork, ROUTER_ASN, ROUTER_IP, SEGMENT } from '../lab/pod-network.js';
import { aroundAll } from './support/around-all.js';
import { inNs, sh } from './support/netns.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';

const prefix = `lrb${process.pid % 100000}-`;
const VIP = '192.0.2.77';
// The lowest unicast MAC a veth can carry here (documentation range, RFC 7042): lower than every random one
// (those are locally administered, first byte >= 0x02), so a bridge without its own address takes it.
const LOW_MAC = '00:00:5e:00:53:01';

const describeIf = suiteIf(missingPrerequisites(null, ['bird', 'vtysh']), 'lab router bridge');

describeIf('the lab\'s router bridge: one MAC address whatever ports join and leave', () => {
  let net: PodNetwork | undefined;
  let frr: FrrRouter | undefined;
  let dir = '';
  const birds = new Set<ChildProcess>();
  const mac = async () => (await inNs(net!.router, ['cat', '/sys/class/net/fabric/address'])).trim();

  aroundAll(
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'plb-lrb-'));
      await sh('ip', ['netns', 'add', `${prefix}node`]);
      net = new PodNetwork(prefix, `${prefix}node`);
      await net.create();
      frr = await FrrRouter.start({
        netns: net.router, name: `${prefix}frr`, asn: ROUTER_ASN, routerId: ROUTER_IP, listenRanges: [SEGMENT], remoteAs: LB_ASN, logDir: dir,
      });
      await frr.watch(VIP);
    },
    async () => {
      for (const b of birds) b.kill('SIGKILL');
      await frr?.stop();
      await net?.destroy();
      await sh('ip', ['netns', 'del', `${prefix}node`]).catch(() => undefined);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  );

  const startBird = (ns: string, podIP: string): ChildProcess => {
    const conf = join(dir, `${ns}.conf`);
    writeFileSync(conf, renderBirdConfig({
      vip: VIP, announce: true, podIP,
      peers: [{ name: 'lab', peerAddress: ROUTER_IP, peerASN: ROUTER_ASN, myASN: LB_ASN, peerPort: 179, holdTime: 9, keepaliveTime: 3, connectTime: 1, ebgpMultihop: false, nextHopMode: 'PodIP' }],
    }).text);
    const child = spawn('ip', ['netns', 'exec', ns, 'bird', '-f', '-c', conf, '-s', join(dir, `${ns}.ctl`)], { stdio: 'ignore' });
    birds.add(child);
    child.once('exit', () => birds.delete(child));
    return child;
  };

  test('a pod that learned the router\'s MAC while a lower-MAC port was there reconnects in seconds after that port left', async () => {
    const macs = [await mac()];
    // A pod whose port has the lowest MAC on the bridge joins; then pod A joins and its BIRD peers with the router
    // (A's neighbour entry for the router holds the bridge's MAC of that moment).
    const low = await net!.addPod('low', net!.nodes[0]!);
    await inNs(net!.router, ['ip', 'link', 'set', low.port, 'address', LOW_MAC]);
    macs.push(await mac());
    const a = await net!.addPod('a', net!.nodes[1]!);
    let bird = startBird(a.ns, a.ip);
    await frr!.waitForHops((h) => h.includes(a.ip), 20_000);
    const learned = (await inNs(a.ns, ['ip', 'neigh', 'show', ROUTER_IP])).trim();
    // A's speaker dies (the lab's SIGKILL step), and while it is down the low port's pod is deleted: the router
    // has nothing to send A, so nothing corrects A's entry before A's BIRD comes back and dials the router.
    const killedAt = Date.now();
    bird.kill('SIGKILL');
    await frr!.waitForHops((h) => !h.includes(a.ip), 20_000, killedAt);
    await net!.removePod('low');
    macs.push(await mac());
    const restartedAt = Date.now();
    bird = startBird(a.ns, a.ip);
    // 60 s: long enough to see the old topology's reconnect (27-37 s) as a number, not a timeout.
    const back = await frr!.waitForHops((h) => h.includes(a.ip), 60_000, restartedAt);
    const reconnectMs = back.at - restartedAt;
    process.stdout.write(`bridge MAC ${macs.join(' -> ')} (a lower-MAC port came and went); A's entry was "${learned}"; ` +
      `BGP back ${reconnectMs} ms after BIRD restarted\n`);
    expect(new Set(macs).size).toBe(1);
    // BIRD's connect delay (1 s) and FRR's accept, on a loaded machine: seconds, not the ~30 s of a stale ARP entry.
    expect(reconnectMs).toBeLessThan(9_000);
  });
});
