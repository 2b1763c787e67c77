// IPVS commands and dumps over a GenlTransport: the sync's operations -> messages, dumps -> ServiceState.
import { ipFamily } from '../../api/defaults.js';
import type { Op, ServiceState } from './sync.js';
import type { GenlTransport } from './transport.js';
import {
  Cmd, decodeDest, decodeService, decodeTimeouts, encodeDest, encodeService, encodeServiceKey, encodeTimeouts, type Timeouts,
} from './wire.js';

export class IpvsClient {
  constructor(private readonly t: GenlTransport) {}

  /** Every IPv4 and IPv6 TCP/UDP service in this network namespace, with its destinations. */
  async dump(): Promise<ServiceState[]> {
    const services = (await this.t.request(Cmd.GET_SERVICE, Buffer.alloc(0), { dump: true }))
      .map(decodeService).filter((s) => s !== null);
    const out: ServiceState[] = [];
    for (const s of services) {
      const dests = (await this.t.request(Cmd.GET_DEST, encodeServiceKey(s), { dump: true })).map((m) => decodeDest(m, ipFamily(s.vip)));
      out.push({ ...s, dests });
    }
    return out;
  }

  /** This network namespace's connection timeouts (`ipvsadm -L --timeout`). */
  async timeouts(): Promise<Timeouts> {
    const [reply] = await this.t.request(Cmd.GET_CONFIG, Buffer.alloc(0));
    if (!reply) throw new Error('IPVS GET_CONFIG returned nothing');
    return decodeTimeouts(reply);
  }

  /** Changes the timeouts given (`ipvsadm --set`), in this network namespace only. */
  async setTimeouts(t: Partial<Timeouts>): Promise<void> {
    await this.t.request(Cmd.SET_CONFIG, encodeTimeouts(t));
  }

  async run(op: Op): Promise<void> {
    switch (op.op) {
      case 'newService': await this.t.request(Cmd.NEW_SERVICE, encodeService(op.service)); break;
      case 'setService': await this.t.request(Cmd.SET_SERVICE, encodeService(op.service)); break;
      case 'delService': await this.t.request(Cmd.DEL_SERVICE, encodeServiceKey(op.service)); break;
      case 'newDest': await this.t.request(Cmd.NEW_DEST, Buffer.concat([encodeServiceKey(op.service), encodeDest(op.dest)])); break;
      case 'setDest': await this.t.request(Cmd.SET_DEST, Buffer.concat([encodeServiceKey(op.service), encodeDest(op.dest)])); break;
      case 'delDest': await this.t.request(Cmd.DEL_DEST, Buffer.concat([encodeServiceKey(op.service), encodeDest(op.dest, false)])); break;
    }
  }
}
