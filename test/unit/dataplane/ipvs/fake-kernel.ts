// A fake IPVS kernel behind the GenlTransport interface: it decodes the messages the client sends with the
// uapi layout, keeps services and destinations, and answers dumps the way ip_vs_ctl.c does (NLA_F_NESTED,
// STATS64). Tests set connection counts to play "established connections".
import { attr, Cmd, parseAttrs } from '../../../../src/dataplane/ipvs/wire.js';
import type { GenlTransport } from '../../../../src/dataplane/ipvs/transport.js';
import { ipv6FromBytes } from '../../../../src/dataplane/ipv6.js';

interface FakeDest { addr: Buffer; port: Buffer; af: number; weight: number; fwd: number; active: number; inactive: number }
interface FakeService { key: Buffer[]; sched: string; flags: number; dests: Map<string, FakeDest> }

const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
const nested = (type: number, parts: Buffer[]) => attr(type | 0x8000, Buffer.concat(parts));
const zeroStats = () => nested(12, [1, 2, 3, 4, 5].map((t) => attr(t, Buffer.alloc(8))));

export class FakeIpvsKernel implements GenlTransport {
  readonly services = new Map<string, FakeService>();
  /** Mutating commands received, as `NEW_SERVICE TCP 10.0.0.1:80 mh` / `SET_DEST TCP 10.0.0.1:80 10.0.1.1:8080 w0`. */
  readonly log: string[] = [];
  closed = false;

  /** `10.0.0.1` or `[2001:db8::1]`, by the service's AF (2 or 10) as the kernel reads it. */
  private static addr(a: Buffer, af: number): string {
    return af === 10 ? `[${ipv6FromBytes(a)}]` : `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  }

  private static svcId(s: Map<number, Buffer>): string {
    const proto = s.get(2)!.readUInt16LE(0) === 6 ? 'TCP' : 'UDP';
    return `${proto} ${FakeIpvsKernel.addr(s.get(3)!, s.get(1)!.readUInt16LE(0))}:${s.get(4)!.readUInt16BE(0)}`;
  }

  private static destId(d: Map<number, Buffer>, serviceAf: number): string {
    return `${FakeIpvsKernel.addr(d.get(1)!, d.get(11)?.readUInt16LE(0) ?? serviceAf)}:${d.get(2)!.readUInt16BE(0)}`;
  }

  /** The namespace's connection timeouts (ipvsadm --set), IPVS's defaults to start with; SET_CONFIGs received. */
  readonly timeouts = { tcp: 900, tcpFin: 120, udp: 300 };
  readonly setConfigs: string[] = [];
  /** Commands this kernel refuses with EPERM (a pod without CAP_NET_ADMIN for them). */
  readonly refused = new Set<number>();

  /** What NEW_SERVICE carried besides the key, by service id (the netmask a family needs: ff ff ff ff or 128). */
  readonly netmasks = new Map<string, Buffer>();

  /** Sets the connection counts IPVS would report for a destination of a service (`TCP 10.0.0.1:80`). */
  setConns(svc: string, dest: string, active: number, inactive = 0): void {
    const d = this.services.get(svc)?.dests.get(dest);
    if (!d) throw new Error(`no ${svc} -> ${dest}`);
    d.active = active;
    d.inactive = inactive;
  }

  private static svcIdOf(key: Buffer[]): string {
    return FakeIpvsKernel.svcId(parseAttrs(Buffer.concat(key)));
  }

  weights(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [sid, s] of this.services) for (const [did, d] of s.dests) out[`${sid} -> ${did}`] = d.weight;
    return out;
  }

  async request(cmd: number, payload: Buffer, options: { dump?: boolean } = {}): Promise<Buffer[]> {
    if (this.refused.has(cmd)) throw new Error(`IPVS command ${cmd} failed: Request rejected: EPERM`);
    const top = parseAttrs(payload);
    const s = top.has(1) ? parseAttrs(top.get(1)!) : null;
    const d = top.has(2) ? parseAttrs(top.get(2)!) : null;
    if (cmd === Cmd.GET_SERVICE && options.dump) {
      return [...this.services.values()].map((svc) => nested(1, [
        ...svc.key, attr(6, Buffer.from(`${svc.sched}\0`)), attr(7, Buffer.concat([u32(svc.flags | 0x2), u32(0xffffffff)])),
        attr(8, u32(0)), attr(9, this.netmasks.get(FakeIpvsKernel.svcIdOf(svc.key))!), zeroStats(),
      ]));
    }
    if (cmd === Cmd.GET_CONFIG && !options.dump) {
      return [Buffer.concat([attr(4, u32(this.timeouts.tcp)), attr(5, u32(this.timeouts.tcpFin)), attr(6, u32(this.timeouts.udp))])];
    }
    if (cmd === Cmd.SET_CONFIG) {
      // ip_vs_genl_set_config: the attributes present change, a 0 leaves the value as it is
      const t = (type: number) => top.get(type)?.readUInt32LE(0) || undefined;
      this.timeouts.tcp = t(4) ?? this.timeouts.tcp;
      this.timeouts.tcpFin = t(5) ?? this.timeouts.tcpFin;
      this.timeouts.udp = t(6) ?? this.timeouts.udp;
      this.setConfigs.push([4, 5, 6].filter((type) => top.has(type)).map((type) => `${type}=${top.get(type)!.readUInt32LE(0)}`).join(' '));
      return [];
    }
    const sid = FakeIpvsKernel.svcId(s!);
    const svc = this.services.get(sid);
    if (cmd === Cmd.GET_DEST && options.dump) {
      if (!svc) throw new Error('Request rejected: ESRCH');
      return [...svc.dests.values()].map((x) => nested(2, [
        attr(1, x.addr), attr(2, x.port), attr(3, u32(x.fwd)), attr(4, u32(x.weight)), attr(5, u32(0)), attr(6, u32(0)),
        attr(7, u32(x.active)), attr(8, u32(x.inactive)), attr(9, u32(0)), attr(11, u16(x.af)), zeroStats(),
      ]));
    }
    const sched = s!.get(6)?.toString('ascii').replace(/\0.*$/, '');
    switch (cmd) {
      case Cmd.NEW_SERVICE:
        if (svc) throw new Error('Request rejected: EEXIST');
        if (!sched || !s!.has(7) || !s!.has(8) || !s!.has(9)) throw new Error('Request rejected: EINVAL');
        // ip_vs_add_service: an IPv6 service's netmask is a prefix length, read as the raw host-order u32
        if (s!.get(1)!.readUInt16LE(0) === 10 && !(s!.get(9)!.readUInt32LE(0) >= 1 && s!.get(9)!.readUInt32LE(0) <= 128)) {
          throw new Error('Request rejected: EINVAL');
        }
        this.services.set(sid, { key: [1, 2, 3, 4].map((t) => attr(t, s!.get(t)!)), sched, flags: s!.get(7)!.readUInt32LE(0), dests: new Map() });
        this.netmasks.set(sid, s!.get(9)!);
        this.log.push(`NEW_SERVICE ${sid} ${sched} flags=${s!.get(7)!.readUInt32LE(0)}`);
        return [];
      case Cmd.SET_SERVICE:
        if (!svc || !sched) throw new Error('Request rejected: ESRCH');
        svc.sched = sched;
        svc.flags = s!.get(7)!.readUInt32LE(0);
        this.log.push(`SET_SERVICE ${sid} ${sched} flags=${svc.flags}`);
        return [];
      case Cmd.DEL_SERVICE:
        if (!svc) throw new Error('Request rejected: ESRCH');
        this.services.delete(sid);
        this.log.push(`DEL_SERVICE ${sid}`);
        return [];
    }
    if (!svc || !d) throw new Error('Request rejected: ESRCH');
    const serviceAf = s!.get(1)!.readUInt16LE(0);
    const did = FakeIpvsKernel.destId(d, serviceAf);
    // ip_vs_ctl.c: a NAT destination must be of the service's family (mixed families only tunnel)
    if ((d.get(11)?.readUInt16LE(0) ?? serviceAf) !== serviceAf) throw new Error('Request rejected: EAFNOSUPPORT');
    const weight = d.get(4)?.readUInt32LE(0);
    switch (cmd) {
      case Cmd.NEW_DEST:
        if (svc.dests.has(did)) throw new Error('Request rejected: EEXIST');
        if (weight === undefined || !d.has(3) || !d.has(5) || !d.has(6)) throw new Error('Request rejected: EINVAL');
        svc.dests.set(did, { addr: d.get(1)!, port: d.get(2)!, af: d.get(11)?.readUInt16LE(0) ?? serviceAf, weight, fwd: d.get(3)!.readUInt32LE(0), active: 0, inactive: 0 });
        this.log.push(`NEW_DEST ${sid} ${did} w${weight}`);
        return [];
      case Cmd.SET_DEST: {
        const x = svc.dests.get(did);
        if (!x || weight === undefined) throw new Error('Request rejected: ENOENT');
        x.weight = weight;
        this.log.push(`SET_DEST ${sid} ${did} w${weight}`);
        return [];
      }
      case Cmd.DEL_DEST:
        if (!svc.dests.delete(did)) throw new Error('Request rejected: ENOENT');
        this.log.push(`DEL_DEST ${sid} ${did}`);
        return [];
    }
    throw new Error(`Request rejected: EOPNOTSUPP (${cmd})`);
  }

  close(): void {
    this.closed = true;
  }
}
