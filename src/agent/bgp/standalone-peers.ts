// BGPPeer documents in the standalone agent's file (`plb-agent run --file`), validated as the CRD would (there is
// no API server to do it) and resolved with the same defaults as the operator's. Pure. What needs a cluster
// (a password Secret, selectors of nodes, namespaces or load balancers) is refused or has nothing to select.
import { BFD_DEFAULTS, peerConfig, type PeerConfig } from '../../api/bgp-peer.js';
import type { BGPPeerSpec } from '../../api/generated.js';
import { isIpv4 } from '../../dataplane/ipv4.js';
import { isIpv6 } from '../../dataplane/ipv6.js';

export interface PeerIssue {
  field: string;
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const asn = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 4294967294 && v !== 23456;

function specIssues(f: string, s: Record<string, unknown>): PeerIssue[] {
  const issues: PeerIssue[] = [];
  const addr = s['peerAddress'];
  if (typeof addr !== 'string' || !(isIpv4(addr) || isIpv6(addr))) {
    issues.push({ field: `${f}.peerAddress`, message: 'must be an IPv4 or IPv6 address literal without a prefix length' });
  }
  for (const k of ['peerASN', 'myASN']) {
    if (!asn(s[k])) issues.push({ field: `${f}.${k}`, message: 'must be an AS number from 1 to 4294967294, not 23456 (AS_TRANS)' });
  }
  const port = s['peerPort'];
  if (port !== undefined && !(Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535)) {
    issues.push({ field: `${f}.peerPort`, message: 'must be from 1 to 65535' });
  }
  const bfd = s['bfd'];
  if (bfd !== undefined) {
    if (!isObject(bfd)) issues.push({ field: `${f}.bfd`, message: 'must be an object (present = on)' });
    else {
      for (const k of ['receiveInterval', 'transmitInterval'] as const) {
        const v = bfd[k] ?? BFD_DEFAULTS[k];
        if (!Number.isInteger(v) || (v as number) < 10 || (v as number) > 60000) issues.push({ field: `${f}.bfd.${k}`, message: 'must be from 10 to 60000 (milliseconds)' });
      }
      const m = bfd['detectMultiplier'] ?? BFD_DEFAULTS.detectMultiplier;
      if (!Number.isInteger(m) || (m as number) < 2 || (m as number) > 255) issues.push({ field: `${f}.bfd.detectMultiplier`, message: 'must be from 2 to 255' });
    }
  }
  if (s['passwordSecretRef'] !== undefined) {
    issues.push({ field: `${f}.passwordSecretRef`, message: 'needs a cluster to read the Secret from; the standalone agent has none' });
  }
  if (s['nextHopMode'] === 'NodeIP') {
    issues.push({ field: `${f}.nextHopMode`, message: 'NodeIP needs a node; the standalone agent announces its interface address (PodIP)' });
  }
  return issues;
}

/** The BGPPeers among the file's documents (others are left to the caller), or the issues found. */
export function standalonePeers(docs: readonly unknown[]): { peers: PeerConfig[]; issues: PeerIssue[] } {
  const peers: PeerConfig[] = [];
  const issues: PeerIssue[] = [];
  docs.forEach((doc, i) => {
    if (!isObject(doc) || doc['kind'] !== 'BGPPeer') return;
    const meta = doc['metadata'];
    const name = isObject(meta) && typeof meta['name'] === 'string' ? meta['name'] : `peer-${i}`;
    const f = `BGPPeer ${name}: spec`;
    if (doc['apiVersion'] !== 'portablelb.io/v1alpha1') issues.push({ field: `BGPPeer ${name}: apiVersion`, message: 'must be portablelb.io/v1alpha1' });
    const spec = doc['spec'];
    if (!isObject(spec)) return issues.push({ field: f, message: 'is required' });
    const found = specIssues(f, spec);
    if (found.length > 0) return issues.push(...found);
    try {
      const p = peerConfig(name, spec as unknown as BGPPeerSpec);
      if (p.holdTime < 3 || p.holdTime > 65535) issues.push({ field: `${f}.holdTime`, message: 'must be between 3s and 65535s' });
      else if (p.keepaliveTime < 1 || p.keepaliveTime > p.holdTime) issues.push({ field: `${f}.keepaliveTime`, message: 'must be from 1s to holdTime' });
      else if (p.connectTime < 1 || p.connectTime > 65535) issues.push({ field: `${f}.connectTime`, message: 'must be between 1s and 65535s' });
      else peers.push(p);
    } catch (error) {
      issues.push({ field: f, message: (error as Error).message });
    }
    return undefined;
  });
  const names = peers.map((p) => p.name);
  if (new Set(names).size !== names.length) issues.push({ field: 'BGPPeer', message: 'metadata.name must be unique' });
  return { peers, issues };
}
