// The VIPs IPVS needs as local addresses (IPVS works in LOCAL_IN): /32s on lo. Which of lo's addresses this plane
// added is recorded in the kernel itself, as the address label `lo:plb`, so a restarted agent still knows what
// it may remove; an address on lo without that label (a user's, a CNI's, anything else) is never touched.
import { runCommand as exec } from '../../runtime/command.js';

export const VIP_DEVICE = 'lo';
/** IFA_LABEL: `<device>:<suffix>`, at most 15 characters. */
export const VIP_LABEL = `${VIP_DEVICE}:plb`;

export interface LocalAddress {
  ip: string;
  prefixLen: number;
  label: string;
}

export interface LocalAddresses {
  /** IPv4 addresses on `dev`. */
  list(dev: string): Promise<LocalAddress[]>;
  add(cidr: string, dev: string, label: string): Promise<void>;
  del(cidr: string, dev: string): Promise<void>;
}

interface IpAddrJson { addr_info?: Array<{ family?: string; local?: string; prefixlen?: number; label?: string }> }

export const ipCommand: LocalAddresses = {
  list: async (dev) => {
    const { stdout } = await exec('ip', ['-j', '-4', 'addr', 'show', 'dev', dev]);
    return (JSON.parse(stdout) as IpAddrJson[]).flatMap((link) => link.addr_info ?? [])
      .filter((a) => a.family === 'inet' && typeof a.local === 'string')
      .map((a) => ({ ip: a.local!, prefixLen: a.prefixlen ?? 32, label: a.label ?? dev }));
  },
  add: async (cidr, dev, label) => { await exec('ip', ['addr', 'add', cidr, 'dev', dev, 'label', label]); },
  del: async (cidr, dev) => { await exec('ip', ['addr', 'del', cidr, 'dev', dev]); },
};

/**
 * `have` (lo's addresses) + the VIPs IPVS still serves (the desired one, and old ones whose services drain) ->
 * what to add and remove. Pure. A needed VIP already on lo under any label is left as it is; only addresses
 * with our label that no service needs any more are removed.
 */
export function planLocalAddresses(have: LocalAddress[], needed: Set<string>): { add: string[]; del: string[] } {
  const present = new Set(have.map((a) => a.ip));
  return {
    add: [...needed].filter((ip) => !present.has(ip)).sort().map((ip) => `${ip}/32`),
    del: have.filter((a) => a.label === VIP_LABEL && !needed.has(a.ip)).map((a) => `${a.ip}/${a.prefixLen}`),
  };
}
