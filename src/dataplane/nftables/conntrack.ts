// The thin I/O shell that deletes conntrack entries (flows.ts decides which), with conntrack-tools' `conntrack -D`
// as kube-proxy did for years: one invocation per (service, backend), each a filtered dump-and-delete in the
// kernel's netlink API. Pinned and installed like the other tools (hack/install-dataplane-deps.sh,
// hack/image-contents.txt).
import { ipFamily } from '../../api/defaults.js';
import { runCommand, type CommandError } from '../../runtime/command.js';
import type { FlowFlush } from './flows.js';

export interface ConntrackRunner {
  /** Deletes the entries of `f`; resolves with how many there were. */
  delete(f: FlowFlush): Promise<number>;
}

/** `conntrack -D` arguments for one flush: original direction to the VIP's port, replies from the backend's. */
export function conntrackArgs(f: FlowFlush): string[] {
  return ['-D', '-f', ipFamily(f.vip) === 6 ? 'ipv6' : 'ipv4', '-p', f.protocol.toLowerCase(),
    '--orig-dst', f.vip, '--orig-port-dst', String(f.port), '--reply-src', f.backend, '--reply-port-src', String(f.targetPort)];
}

/** "conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted." */
const DELETED = /(\d+) flow entries have been deleted/;

export const conntrackCommand: ConntrackRunner = {
  delete: async (f) => {
    try {
      const { stderr } = await runCommand('conntrack', conntrackArgs(f));
      return Number(DELETED.exec(stderr)?.[1] ?? 0);
    } catch (err) {
      const e = err as CommandError;
      if (e.code === 'ENOENT') throw new Error('the conntrack command is missing: install conntrack (conntrack-tools) in the agent image');
      // It exits 1 when nothing matched: not a failure.
      const m = DELETED.exec(e.stderr ?? '');
      if (m && Number(m[1]) === 0) return 0;
      throw new Error(`conntrack ${conntrackArgs(f).join(' ')} failed: ${(e.stderr || e.message).trim()}`);
    }
  },
};
