// The generic-netlink socket speaking the IPVS family (npm netlink), behind a narrow interface so the client
// and the sync can run against a fake kernel in unit tests.
import { createGenericNetlink, genl, FlagsGet, type GenericNetlinkSocket } from 'netlink';
import { IPVS_FAMILY, IPVS_VERSION } from './wire.js';

export interface GenlTransport {
  /** One request (ACKed) or dump; resolves with the attribute payload of every reply message. */
  request(cmd: number, payload: Buffer, options?: { dump?: boolean }): Promise<Buffer[]>;
  close(): void;
}

/** What the node must load for the ipvs data plane (a pod cannot load kernel modules). */
export const IPVS_MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'ip_vs_mh', 'ip_vs_lc', 'nf_conntrack'];

/** The kernel lacks a feature the data plane needs; `reason` is the condition reason the agent reports. */
export class KernelFeatureMissing extends Error {
  readonly reason = 'KernelFeatureMissing';
  constructor(readonly feature: string, readonly modules: string[], detail: string) {
    super(`${feature} is not available in this kernel (${detail}): the node must load the modules ` +
      `${modules.join(' ')} (modprobe -a ${modules.join(' ')}, or list them in /etc/modules-load.d/); ` +
      'a pod cannot load modules. Or use dataPlane nftables or xdp.');
    this.name = 'KernelFeatureMissing';
  }
}

/** `Request rejected: ENOENT` -> ENOENT (the netlink package reports kernel errnos only in the message). */
export function rejectedErrno(err: unknown): string | null {
  return /Request rejected: (\w+)/.exec((err as Error)?.message ?? '')?.[1] ?? null;
}

export async function openIpvsTransport(): Promise<GenlTransport> {
  const socket: GenericNetlinkSocket = createGenericNetlink();
  let family: number;
  try {
    const [reply] = await socket.ctrlRequest(genl.Commands.GET_FAMILY, { familyName: IPVS_FAMILY }, { timeout: 5000 });
    if (reply?.familyId === undefined) throw new Error('the controller returned no family id');
    family = reply.familyId;
  } catch (err) {
    socket.socket.close();
    if (rejectedErrno(err) === 'ENOENT') throw new KernelFeatureMissing('IPVS', IPVS_MODULES, 'generic netlink family IPVS not found');
    throw err;
  }
  return {
    async request(cmd, payload, options = {}) {
      try {
        const [messages] = await socket.request(family, cmd, IPVS_VERSION, payload,
          { timeout: 5000, ...(options.dump ? { flags: FlagsGet.DUMP } : {}) });
        return messages.map((m) => m.data);
      } catch (err) {
        // EPERM: not CAP_NET_ADMIN in the netns's owner user namespace (an unprivileged pod)
        throw new Error(`IPVS command ${cmd} failed: ${(err as Error).message}`);
      }
    },
    close: () => socket.socket.close(),
  };
}
