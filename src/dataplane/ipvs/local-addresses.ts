// The VIPs IPVS needs as local addresses (IPVS works in LOCAL_IN): /32s and /128s on lo. Which of lo's addresses
// this plane added is recorded in the kernel itself, so a restarted agent still knows what it may remove: an IPv4
// VIP carries the address label `lo:plb`; IPv6 has no address labels (IFA_LABEL is IPv4's), so an IPv6 VIP carries
// the address metric (IFA_RT_PRIORITY) VIP_METRIC instead, with noprefixroute so that the metric routes nothing.
// An address on lo without our mark (a user's, a CNI's, anything else) is never touched.
import { ipFamily } from '../../api/defaults.js';
import { runCommand as exec } from '../../runtime/command.js';

export const VIP_DEVICE = 'lo';
/** IFA_LABEL: `<device>:<suffix>`, at most 15 characters. */
export const VIP_LABEL = `${VIP_DEVICE}:plb`;
/** The metric that marks an IPv6 VIP as ours ("PLB" in ASCII, as the nftables plane's hash seed). */
export const VIP_METRIC = 0x504c42;

export interface LocalAddress {
  ip: string;
  prefixLen: number;
  /** IPv4 only. */
  label?: string;
  /** IPv6 only (an IPv4 address's metric would be its prefix route's). */
  metric?: number;
}

export interface LocalAddresses {
  /** IPv4 and IPv6 addresses on `dev`. */
  list(dev: string): Promise<LocalAddress[]>;
  /** Adds a VIP (`ip/32`, `ip/128`) marked as this plane's. */
  add(cidr: string, dev: string): Promise<void>;
  del(cidr: string, dev: string): Promise<void>;
}

interface IpAddrJson { addr_info?: Array<{ family?: string; local?: string; prefixlen?: number; label?: string; metric?: number }> }

export const ipCommand: LocalAddresses = {
  list: async (dev) => {
    const { stdout } = await exec('ip', ['-j', 'addr', 'show', 'dev', dev]);
    return (JSON.parse(stdout) as IpAddrJson[]).flatMap((link) => link.addr_info ?? [])
      .filter((a) => (a.family === 'inet' || a.family === 'inet6') && typeof a.local === 'string')
      .map((a) => a.family === 'inet'
        ? { ip: a.local!, prefixLen: a.prefixlen ?? 32, label: a.label ?? dev }
        : { ip: a.local!, prefixLen: a.prefixlen ?? 128, ...(a.metric !== undefined ? { metric: a.metric } : {}) });
  },
  add: async (cidr, dev) => {
    // nodad: lo does no duplicate address detection anyway, and the VIP must be usable at once.
    const mark = ipFamily(cidr) === 4 ? ['label', VIP_LABEL] : ['nodad', 'noprefixroute', 'metric', String(VIP_METRIC)];
    await exec('ip', ['addr', 'add', cidr, 'dev', dev, ...mark]);
  },
  del: async (cidr, dev) => { await exec('ip', ['addr', 'del', cidr, 'dev', dev]); },
};

/** Whether this plane added the address (see the header). */
export const isOurs = (a: LocalAddress): boolean => (ipFamily(a.ip) === 4 ? a.label === VIP_LABEL : a.metric === VIP_METRIC);

/**
 * `have` (lo's addresses) + the VIPs IPVS still serves (the desired one, and old ones whose services drain) ->
 * what to add and remove. Pure. A needed VIP already on lo, marked or not, is left as it is; only addresses
 * with our mark that no service needs any more are removed.
 */
export function planLocalAddresses(have: LocalAddress[], needed: Set<string>): { add: string[]; del: string[] } {
  const present = new Set(have.map((a) => a.ip));
  return {
    add: [...needed].filter((ip) => !present.has(ip)).sort().map((ip) => `${ip}/${ipFamily(ip) === 4 ? 32 : 128}`),
    del: have.filter((a) => isOurs(a) && !needed.has(a.ip)).map((a) => `${a.ip}/${a.prefixLen}`),
  };
}
