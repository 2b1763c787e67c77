// A fake IPVS kernel behind the GenlTransport interface: it decodes the messages the client sends with the
// uapi layout, keeps services and destinations, and answers dumps the way ip_vs_ctl.c does (NLA_F_NESTED,
// STATS64). Tests set connection counts to play "established connections".
import { attr, Cmd, parseAttrs } from '../../../../src/dataplane/ipvs/wire.js';
import type { GenlTransport } from '../../../../src/dataplane/ipvs/transport.js';

interface FakeDest { addr: Buffer; port: Buffer; weight: number; fwd: number; active: number; inactive: number }
interface FakeService { key: Buffer[]; sched: string; flags: number; dests: Map<string, FakeDest> }

const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const nested = (type: number, parts: Buffer[]) => attr(type | 0x8000, Buffer.concat(parts));
const zeroStats = () => nested(12, [1, 2, 3, 4, 5].map((t) => attr(t, Buffer.alloc(8))));

export class FakeIpvsKernel implements GenlTransport {
  readonly services = new Map<string, FakeService>();
  /** Mutating commands received, as `NEW_SERVICE TCP 10.0.0.1:80 mh` / `SET_DEST TCP 10.0.0.1:80 10.0.1.1:8080 w0`. */
  readonly log: string[] = [];
  closed = false;

  private static svcId(s: Map<number, Buffer>): string {
    const proto = s.get(2)!.readUInt16LE(0) === 6 ? 'TCP' : 'UDP';
    const a = s.get(3)!;
    return `${proto} ${a[0]}.${a[1]}.${a[2]}.${a[3]}:${s.get(4)!.readUInt16BE(0)}`;
  }

  private static destId(d: Map<number, Buffer>): string {
    const a = d.get(1)!;
    return `${a[0]}.${a[1]}.${a[2]}.${a[3]}:${d.get(2)!.readUInt16BE(0)}`;
  }

  /** Sets the connection counts IPVS would report for a destination of a service (`TCP 10.0.0.1:80`). */
  setConns(svc: string, dest: string, active: number, inactive = 0): void {
    const d = this.services.get(svc)?.dests.get(dest);
    if (!d) throw new Error(`no ${svc} -> ${dest}`);
    d.active = active;
    d.inactive = inactive;
  }

  weights(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [sid, s] of this.services) for (const [did, d] of s.dests) out[`${sid} -> ${did}`] = d.weight;
    return out;
  }

  async request(cmd: number, payload: Buffer, options: { dump?: boolean } = {}): Promise<Buffer[]> {
    const top = parseAttrs(payload);
    const s = top.has(1) ? parseAttrs(top.get(1)!) : null;
    const d = top.has(2) ? parseAttrs(top.get(2)!) : null;
    if (cmd === Cmd.GET_SERVICE && options.dump) {
      return [...this.services.values()].map((svc) => nested(1, [
        ...svc.key, attr(6, Buffer.from(`${svc.sched}\0`)), attr(7, Buffer.concat([u32(svc.flags | 0x2), u32(0xffffffff)])),
        attr(8, u32(0)), attr(9, Buffer.from([255, 255, 255, 255])), zeroStats(),
      ]));
    }
    const sid = FakeIpvsKernel.svcId(s!);
    const svc = this.services.get(sid);
    if (cmd === Cmd.GET_DEST && options.dump) {
      if (!svc) throw new Error('Request rejected: ESRCH');
      return [...svc.dests.values()].map((x) => nested(2, [
        attr(1, x.addr), attr(2, x.port), attr(3, u32(x.fwd)), attr(4, u32(x.weight)), attr(5, u32(0)), attr(6, u32(0)),
        attr(7, u32(x.active)), attr(8, u32(x.inactive)), attr(9, u32(0)), attr(11, Buffer.from([2, 0])), zeroStats(),
      ]));
    }
    const sched = s!.get(6)?.toString('ascii').replace(/\0.*$/, '');
    switch (cmd) {
      case Cmd.NEW_SERVICE:
        if (svc) throw new Error('Request rejected: EEXIST');
        if (!sched || !s!.has(7) || !s!.has(8) || !s!.has(9)) throw new Error('Request rejected: EINVAL');
        this.services.set(sid, { key: [1, 2, 3, 4].map((t) => attr(t, s!.get(t)!)), sched, flags: s!.get(7)!.readUInt32LE(0), dests: new Map() });
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
    const did = FakeIpvsKernel.destId(d);
    const weight = d.get(4)?.readUInt32LE(0);
    switch (cmd) {
      case Cmd.NEW_DEST:
        if (svc.dests.has(did)) throw new Error('Request rejected: EEXIST');
        if (weight === undefined || !d.has(3) || !d.has(5) || !d.has(6)) throw new Error('Request rejected: EINVAL');
        svc.dests.set(did, { addr: d.get(1)!, port: d.get(2)!, weight, fwd: d.get(3)!.readUInt32LE(0), active: 0, inactive: 0 });
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
