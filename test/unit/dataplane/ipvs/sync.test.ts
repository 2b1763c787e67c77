// The diff sync against a fake IPVS kernel that speaks the wire format: add, change weight, drain then delete,
// adopt on restart; plus the scheduler mapping and a kernel without IPVS.
import { beforeEach, describe, expect, test } from '@jest/globals';
import { IPVS_TCP_ESTABLISHED_SECONDS, IpvsDataPlane } from '../../../../src/dataplane/ipvs/ipvs-dataplane.js';
import { Cmd } from '../../../../src/dataplane/ipvs/wire.js';
import { ipvsScheduler } from '../../../../src/dataplane/ipvs/sync.js';
import { IPVS_MODULES, KernelFeatureMissing } from '../../../../src/dataplane/ipvs/transport.js';
import { VIP_LABEL, VIP_METRIC, type LocalAddress, type LocalAddresses } from '../../../../src/dataplane/ipvs/local-addresses.js';
import type { DesiredState } from '../../../../src/dataplane/types.js';
import { FakeIpvsKernel } from './fake-kernel.js';

const VIP = '10.240.200.10';
const desired = (backends: Array<[string, number]>, scheduler = 'maglev', vip = VIP): DesiredState => ({
  vip,
  ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }, { name: 'echo', port: 53, targetPort: 5353, protocol: 'UDP' }],
  backends: backends.map(([ip, weight]) => ({ ip, weight })),
  scheduler: scheduler as DesiredState['scheduler'], attach: 'auto', interface: 'eth0', snatIp: '10.240.0.3',
});

/** lo's addresses as the kernel keeps them (the mark ip addr add puts on ours included), with `ip addr add/del`'s errors. */
class FakeAddresses implements LocalAddresses {
  constructor(readonly addrs: LocalAddress[] = [{ ip: '127.0.0.1', prefixLen: 8, label: 'lo' }]) {}
  async list(): Promise<LocalAddress[]> { return this.addrs.map((a) => ({ ...a })); }
  async add(cidr: string): Promise<void> {
    const [ip, len] = cidr.split('/');
    if (this.addrs.some((a) => a.ip === ip)) throw new Error('RTNETLINK answers: File exists');
    this.addrs.push({ ip: ip!, prefixLen: Number(len), ...(ip!.includes(':') ? { metric: VIP_METRIC } : { label: VIP_LABEL }) });
  }
  async del(cidr: string): Promise<void> {
    const i = this.addrs.findIndex((a) => `${a.ip}/${a.prefixLen}` === cidr);
    if (i < 0) throw new Error('RTNETLINK answers: Cannot assign requested address');
    this.addrs.splice(i, 1);
  }
  show(): string[] { return this.addrs.map((a) => `${a.ip}/${a.prefixLen} ${a.label ?? `metric ${a.metric ?? 0}`}`); }
}

describe('IpvsDataPlane sync against a fake kernel', () => {
  let kernel: FakeIpvsKernel;
  let nftScripts: string[];
  let lo: FakeAddresses;
  const plane = () => new IpvsDataPlane({
    log: () => undefined,
    openTransport: async () => kernel,
    nft: { run: async (s) => { nftScripts.push(s); }, listTable: async () => null },
    addresses: lo,
  });
  const mutations = async (p: IpvsDataPlane, d: DesiredState) => {
    const from = kernel.log.length;
    const result = await p.apply(d);
    return { changed: result.changed, log: kernel.log.slice(from) };
  };

  beforeEach(() => {
    kernel = new FakeIpvsKernel();
    nftScripts = [];
    lo = new FakeAddresses();
  });

  test('adds both services (mh hashing the port, falling back past weight 0) and every destination, then a second apply changes nothing', async () => {
    const p = plane();
    expect(await mutations(p, desired([['10.240.1.1', 1], ['10.240.1.2', 2]]))).toEqual({
      changed: true,
      log: [
        `NEW_SERVICE TCP ${VIP}:80 mh flags=24`, `NEW_DEST TCP ${VIP}:80 10.240.1.1:8080 w1`, `NEW_DEST TCP ${VIP}:80 10.240.1.2:8080 w2`,
        `NEW_SERVICE UDP ${VIP}:53 mh flags=24`, `NEW_DEST UDP ${VIP}:53 10.240.1.1:5353 w1`, `NEW_DEST UDP ${VIP}:53 10.240.1.2:5353 w2`,
      ],
    });
    expect(await mutations(p, desired([['10.240.1.1', 1], ['10.240.1.2', 2]]))).toEqual({ changed: false, log: [] });
    expect(nftScripts).toHaveLength(1);
    expect(nftScripts[0]).toContain('elements = { 10.240.1.1 . tcp . 8080, 10.240.1.1 . udp . 5353, 10.240.1.2 . tcp . 8080, 10.240.1.2 . udp . 5353 }');
  });

  test('IPVS forgets an idle TCP connection after its own 900 s: the first apply sets the namespace\'s TCP timeout to 6 h, once', async () => {
    const logs: string[] = [];
    const p = new IpvsDataPlane({
      log: (m) => logs.push(m), openTransport: async () => kernel, addresses: lo,
      nft: { run: async (s) => { nftScripts.push(s); }, listTable: async () => null },
    });
    expect((await p.apply(desired([['10.240.1.1', 1]]))).warnings.filter((w) => w.includes('timeout'))).toEqual([]);
    expect(kernel.timeouts).toEqual({ tcp: IPVS_TCP_ESTABLISHED_SECONDS, tcpFin: 120, udp: 300 });
    expect(IPVS_TCP_ESTABLISHED_SECONDS).toBe(21_600);
    expect(kernel.setConfigs).toEqual(['4=21600']);
    expect(logs).toContain('ipvs: TCP established timeout 900 s -> 21600 s');
    await p.apply(desired([['10.240.1.1', 1]]));
    expect(kernel.setConfigs).toHaveLength(1);
    // someone (ipvsadm --set) shortened it: the next apply puts it back
    kernel.timeouts.tcp = 6;
    await p.apply(desired([['10.240.1.1', 1]]));
    expect(kernel.setConfigs).toEqual(['4=21600', '4=21600']);
  });

  test('a kernel that refuses SET_CONFIG: balancing goes on, the apply warns that idle connections end after IPVS\'s own timeout', async () => {
    kernel.refused.add(Cmd.SET_CONFIG);
    const r = await plane().apply(desired([['10.240.1.1', 1]]));
    expect(r.warnings.filter((w) => w.includes('timeout'))).toEqual(['could not set IPVS\'s TCP timeout to 21600 s (idle connections end after its own, 900 s by default): IPVS command 12 failed: Request rejected: EPERM']);
    expect(Object.keys(kernel.weights())).toContain(`TCP ${VIP}:80 -> 10.240.1.1:8080`);
  });

  test('an MSS clamp change rewrites only the masquerade table, and counts as a change', async () => {
    const p = plane();
    await p.apply(desired([['10.240.1.1', 1]]));
    expect(await mutations(p, { ...desired([['10.240.1.1', 1]]), tcpMssClamp: 1410 })).toEqual({ changed: true, log: [] });
    expect(nftScripts).toHaveLength(2);
    expect(nftScripts[1]).toContain('tcp option maxseg size set 1410');
    expect(await mutations(p, { ...desired([['10.240.1.1', 1]]), tcpMssClamp: 1410 })).toEqual({ changed: false, log: [] });
  });

  test('a weight change is one SET_DEST per service', async () => {
    const p = plane();
    await p.apply(desired([['10.240.1.1', 1], ['10.240.1.2', 2]]));
    expect((await mutations(p, desired([['10.240.1.1', 1], ['10.240.1.2', 5]]))).log).toEqual([
      `SET_DEST TCP ${VIP}:80 10.240.1.2:8080 w5`, `SET_DEST UDP ${VIP}:53 10.240.1.2:5353 w5`,
    ]);
  });

  test('a removed TCP backend drains at weight 0 until IPVS counts no connection; UDP goes at once', async () => {
    const p = plane();
    await p.apply(desired([['10.240.1.1', 1], ['10.240.1.2', 2]]));
    kernel.setConns(`TCP ${VIP}:80`, '10.240.1.2:8080', 16, 2);
    expect((await mutations(p, desired([['10.240.1.1', 1]]))).log).toEqual([
      `SET_DEST TCP ${VIP}:80 10.240.1.2:8080 w0`, `DEL_DEST UDP ${VIP}:53 10.240.1.2:5353`,
    ]);
    // still draining: nothing to do, and the masquerade keeps covering its connections
    expect((await mutations(p, desired([['10.240.1.1', 1]]))).log).toEqual([]);
    expect(nftScripts.at(-1)).toContain('10.240.1.2 . tcp . 8080');
    const obs = await p.observe();
    expect(obs.backends.map((b) => [b.ip, b.state])).toEqual([['10.240.1.1', 'active'], ['10.240.1.2', 'draining']]);

    kernel.setConns(`TCP ${VIP}:80`, '10.240.1.2:8080', 0, 0);
    expect((await mutations(p, desired([['10.240.1.1', 1]]))).log).toEqual([`DEL_DEST TCP ${VIP}:80 10.240.1.2:8080`]);
    expect(nftScripts.at(-1)).not.toContain('10.240.1.2');
  });

  test('a restarted agent adopts what IPVS holds: no flush, no re-add, draining continues', async () => {
    await plane().apply(desired([['10.240.1.1', 1], ['10.240.1.2', 2]]));
    kernel.setConns(`TCP ${VIP}:80`, '10.240.1.2:8080', 4);
    await plane().apply(desired([['10.240.1.1', 1]]));
    const restarted = plane();
    const { log } = await mutations(restarted, desired([['10.240.1.1', 1]]));
    expect(log).toEqual([]);
    expect(kernel.weights()).toEqual({
      [`TCP ${VIP}:80 -> 10.240.1.1:8080`]: 1, [`TCP ${VIP}:80 -> 10.240.1.2:8080`]: 0, [`UDP ${VIP}:53 -> 10.240.1.1:5353`]: 1,
    });
  });

  test('a scheduler change is a SET_SERVICE, and services of an old port drain before they go', async () => {
    const p = plane();
    await p.apply(desired([['10.240.1.1', 1], ['10.240.1.2', 1]]));
    kernel.setConns(`UDP ${VIP}:53`, '10.240.1.1:5353', 1);
    const d = { ...desired([['10.240.1.1', 1], ['10.240.1.2', 1]], 'roundRobin'), ports: [desired([]).ports[0]!] };
    expect((await mutations(p, d)).log).toEqual([
      `SET_SERVICE TCP ${VIP}:80 rr flags=0`,
      `DEL_DEST UDP ${VIP}:53 10.240.1.1:5353`, `DEL_DEST UDP ${VIP}:53 10.240.1.2:5353`, `DEL_SERVICE UDP ${VIP}:53`,
    ]);
  });

  test('detach removes our services and the masquerade table; a plain close leaves IPVS as it is', async () => {
    const p = plane();
    await p.apply(desired([['10.240.1.1', 1]]));
    await p.close();
    expect(kernel.services.size).toBe(2);
    const q = plane();
    await q.apply(desired([['10.240.1.1', 1]]));
    await q.close({ detach: true });
    expect(kernel.services.size).toBe(0);
    expect(nftScripts.at(-1)).toBe('add table ip portable_lb_ipvs\ndelete table ip portable_lb_ipvs\n');
  });

  test('the VIP goes on lo labelled lo:plb; an address already there under another label is left alone', async () => {
    lo.addrs.push({ ip: '10.240.250.1', prefixLen: 32, label: 'lo' });
    await plane().apply(desired([['10.240.1.1', 1]]));
    expect(lo.show()).toEqual(['127.0.0.1/8 lo', '10.240.250.1/32 lo', `${VIP}/32 lo:plb`]);
    await plane().apply(desired([['10.240.1.1', 1]], 'maglev', '10.240.250.1'));
    expect(lo.show()).toEqual(['127.0.0.1/8 lo', '10.240.250.1/32 lo']);
    // ours no more, the user's never: going back adds the VIP again and leaves 10.240.250.1 as it was
    await plane().apply(desired([['10.240.1.1', 1]]));
    expect(lo.show()).toEqual(['127.0.0.1/8 lo', '10.240.250.1/32 lo', `${VIP}/32 lo:plb`]);
  });

  test('a VIP change removes the old VIP from lo once no service drains through it, also after an agent restart', async () => {
    const NEW = '10.240.200.20';
    const p = plane();
    await p.apply(desired([['10.240.1.1', 1]]));
    kernel.setConns(`TCP ${VIP}:80`, '10.240.1.1:8080', 3);
    await p.apply(desired([['10.240.1.1', 1]], 'maglev', NEW));
    // old TCP service drains (its connections still arrive at the old VIP), old UDP service is gone
    expect(lo.show()).toEqual(['127.0.0.1/8 lo', `${VIP}/32 lo:plb`, `${NEW}/32 lo:plb`]);
    expect(Object.keys(kernel.weights())).toEqual([
      `TCP ${VIP}:80 -> 10.240.1.1:8080`, `TCP ${NEW}:80 -> 10.240.1.1:8080`, `UDP ${NEW}:53 -> 10.240.1.1:5353`,
    ]);

    kernel.setConns(`TCP ${VIP}:80`, '10.240.1.1:8080', 0);
    // a fresh process knows nothing of the old VIP but the label the kernel keeps
    const { log } = await mutations(plane(), desired([['10.240.1.1', 1]], 'maglev', NEW));
    expect(log).toEqual([`DEL_DEST TCP ${VIP}:80 10.240.1.1:8080`, `DEL_SERVICE TCP ${VIP}:80`]);
    expect(lo.show()).toEqual(['127.0.0.1/8 lo', `${NEW}/32 lo:plb`]);
  });

  test('an old VIP on lo without our label (not ours) stays after the VIP changes', async () => {
    lo.addrs.push({ ip: VIP, prefixLen: 32, label: 'lo' });
    await plane().apply(desired([['10.240.1.1', 1]]));
    await plane().apply(desired([['10.240.1.1', 1]], 'maglev', '10.240.200.20'));
    expect(lo.show()).toEqual(['127.0.0.1/8 lo', `${VIP}/32 lo`, '10.240.200.20/32 lo:plb']);
  });

  test('detach removes the VIPs this plane added, and only those', async () => {
    lo.addrs.push({ ip: '10.240.250.1', prefixLen: 32, label: 'lo' });
    const p = plane();
    await p.apply(desired([['10.240.1.1', 1]]));
    await p.close({ detach: true });
    expect(lo.show()).toEqual(['127.0.0.1/8 lo', '10.240.250.1/32 lo']);
  });

  describe('an IPv6 VIP', () => {
    const VIP6 = '2001:db8:200::10';
    const desired6 = (backends: Array<[string, number]>): DesiredState => ({ ...desired(backends, 'maglev', VIP6), snatIp: '2001:db8::3' });

    test('IPv6 services and destinations, addresses read back in RFC 5952 form: a second apply changes nothing', async () => {
      const p = plane();
      // a backend written the long way is the same destination IPVS prints back
      expect(await mutations(p, desired6([['2001:DB8:1:0::1', 1], ['2001:db8:1::2', 2]]))).toEqual({
        changed: true,
        log: [
          `NEW_SERVICE TCP [${VIP6}]:80 mh flags=24`, `NEW_DEST TCP [${VIP6}]:80 [2001:db8:1::1]:8080 w1`, `NEW_DEST TCP [${VIP6}]:80 [2001:db8:1::2]:8080 w2`,
          `NEW_SERVICE UDP [${VIP6}]:53 mh flags=24`, `NEW_DEST UDP [${VIP6}]:53 [2001:db8:1::1]:5353 w1`, `NEW_DEST UDP [${VIP6}]:53 [2001:db8:1::2]:5353 w2`,
        ],
      });
      expect(kernel.netmasks.get(`TCP [${VIP6}]:80`)).toEqual(Buffer.from('80000000', 'hex'));
      expect(await mutations(p, desired6([['2001:DB8:1:0::1', 1], ['2001:db8:1::2', 2]]))).toEqual({ changed: false, log: [] });
      expect((await p.observe()).backends.map((b) => [b.ip, b.state])).toEqual([['2001:db8:1::1', 'active'], ['2001:db8:1::2', 'active']]);
    });

    test('the VIP goes on lo as a /128 marked with our metric; the masquerade is an ip6 table only', async () => {
      await plane().apply(desired6([['2001:db8:1::1', 1]]));
      expect(lo.show()).toEqual(['127.0.0.1/8 lo', `${VIP6}/128 metric ${VIP_METRIC}`]);
      expect(nftScripts).toHaveLength(1);
      expect(nftScripts[0]).toMatch(/^add table ip6 portable_lb_ipvs\n/);
      expect(nftScripts[0]).not.toMatch(/table ip portable_lb_ipvs/);
    });

    test('an IPv6 address on lo without our metric is never removed', async () => {
      lo.addrs.push({ ip: '2001:db8:200::99', prefixLen: 128 }, { ip: '2001:db8:200::98', prefixLen: 128, metric: 1024 });
      const p = plane();
      await p.apply(desired6([['2001:db8:1::1', 1]]));
      await p.close({ detach: true });
      expect(lo.show()).toEqual(['127.0.0.1/8 lo', '2001:db8:200::99/128 metric 0', '2001:db8:200::98/128 metric 1024']);
    });

    test('a VIP that changes family: the IPv4 services drain through their own masquerade table, then both go', async () => {
      const p = plane();
      await p.apply(desired([['10.240.1.1', 1]]));
      kernel.setConns(`TCP ${VIP}:80`, '10.240.1.1:8080', 2);
      await p.apply(desired6([['2001:db8:1::1', 1]]));
      expect(lo.show()).toEqual(['127.0.0.1/8 lo', `${VIP}/32 lo:plb`, `${VIP6}/128 metric ${VIP_METRIC}`]);
      expect(nftScripts.at(-1)).toContain('table ip portable_lb_ipvs {');
      expect(nftScripts.at(-1)).toContain('elements = { 10.240.1.1 . tcp . 8080 }');
      expect(nftScripts.at(-1)).toContain('table ip6 portable_lb_ipvs {');

      kernel.setConns(`TCP ${VIP}:80`, '10.240.1.1:8080', 0);
      // a restarted agent finds the ip table in the kernel and deletes it with the last IPv4 service
      const restarted = new IpvsDataPlane({
        log: () => undefined, openTransport: async () => kernel, addresses: lo,
        nft: { run: async (s) => { nftScripts.push(s); }, listTable: async (family) => (family === 'ip' || family === 'ip6' ? '{}' : null) },
      });
      await restarted.apply(desired6([['2001:db8:1::1', 1]]));
      expect(Object.keys(kernel.weights())).toEqual([`TCP [${VIP6}]:80 -> [2001:db8:1::1]:8080`, `UDP [${VIP6}]:53 -> [2001:db8:1::1]:5353`]);
      expect(lo.show()).toEqual(['127.0.0.1/8 lo', `${VIP6}/128 metric ${VIP_METRIC}`]);
      expect(nftScripts.at(-1)).toMatch(/^add table ip portable_lb_ipvs\ndelete table ip portable_lb_ipvs\nadd table ip6 portable_lb_ipvs\n/);
    });
  });

  test('a kernel without IPVS: apply rejects with KernelFeatureMissing naming the modules, and retries next time', async () => {
    let opens = 0;
    const p = new IpvsDataPlane({
      log: () => undefined,
      openTransport: async () => { opens++; throw new KernelFeatureMissing('IPVS', IPVS_MODULES, 'generic netlink family IPVS not found'); },
    });
    await expect(p.apply(desired([['10.240.1.1', 1]]))).rejects.toThrow('the node must load the modules ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh ip_vs_mh ip_vs_lc nf_conntrack');
    await expect(p.apply(desired([['10.240.1.1', 1]]))).rejects.toBeInstanceOf(KernelFeatureMissing);
    expect(opens).toBe(2);
    expect(await p.observe()).toMatchObject({ attach: null, warnings: [expect.stringContaining('IPVS is not available in this kernel')] });
  });
});

describe('ipvsScheduler', () => {
  test.each([
    ['maglev', [1, 2], 'mh', 0x18],
    ['roundRobin', [1, 1], 'rr', 0],
    ['roundRobin', [1, 2], 'wrr', 0],
    ['sourceHash', [1, 2], 'sh', 0x08],
    ['leastConnection', [3, 3], 'lc', 0],
    ['leastConnection', [1, 3], 'wlc', 0],
  ])('%s with weights %j is %s (flags %d)', (scheduler, weights, name, flags) => {
    expect(ipvsScheduler(scheduler, weights)).toEqual({ name, flags });
  });
});
