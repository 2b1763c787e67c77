// Capability names in a /proc/<pid>/status mask (CapEff, CapBnd, ...), for tests that check what a process really
// holds: the data-plane tier's setpriv-bounded agents and the e2e tier's LB pod containers on real nodes.

/** CAP_* bit numbers, per capability(7), of the capabilities these tests name. */
export const CAPABILITY_BITS: Readonly<Record<string, number>> = {
  DAC_OVERRIDE: 1, NET_BIND_SERVICE: 10, NET_ADMIN: 12, NET_RAW: 13, SYS_ADMIN: 21, SYS_RESOURCE: 24, PERFMON: 38, BPF: 39,
};

/** The names in a hex mask, sorted; bits without a name here come last as `other:<hex>`. */
export function capabilityNames(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  const names = Object.entries(CAPABILITY_BITS).filter(([, bit]) => (mask >> BigInt(bit)) & 1n).map(([n]) => n).sort();
  const known = Object.values(CAPABILITY_BITS).reduce((m, b) => m | (1n << BigInt(b)), 0n);
  return (mask & ~known) === 0n ? names : [...names, `other:${(mask & ~known).toString(16)}`];
}

/** A field of /proc/<pid>/status text ("CapEff", "NoNewPrivs", "Seccomp", ...). */
export function statusField(status: string, field: string): string | undefined {
  return new RegExp(`^${field}:\\s+(\\S+)$`, 'm').exec(status)?.[1];
}
