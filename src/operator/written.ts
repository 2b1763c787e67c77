// Children the operator wrote that its watch caches do not show yet. A pass that runs before the watch delivers
// the operator's own write (its status write, an event of the initial list or another child's event queue one
// within milliseconds) compared against the version that write replaced, found the same drift and wrote again:
// the lab's chaos step logged "drift repaired" twice, 11-16 ms apart, for the one Role edit of every other round.
// The write's response stands in for the cached object until the cache reaches it. Pure: controller.ts keeps
// the records and drops them when told.
import type { KubernetesObject } from '@kubernetes/client-node';

/** A record outlives a watch that never delivers the write by this much at most; then the cache decides again. */
export const WRITTEN_TTL_MS = 30_000;

export interface Written {
  /** The server's response to the write (shaped as the cache shapes its objects). */
  object: KubernetesObject;
  /** When it was written (ms since the epoch). */
  at: number;
}

/** etcd's revisions are decimal integers; Kubernetes calls resourceVersion opaque, so nothing else is ordered. */
const revision = (rv: string | undefined): bigint | undefined => (rv !== undefined && /^\d{1,20}$/.test(rv) ? BigInt(rv) : undefined);

/**
 * The child to judge: the cache's, unless it is older than the operator's own write, and whether the record can
 * go (`settled`: the cache shows that write or a later version, or the record is older than WRITTEN_TTL_MS).
 * A cache without the object while a record exists: the write created it and its ADDED event has not come (a
 * delete after the write drops the record in controller.ts, so it is not taken for this).
 */
export function freshest(cached: KubernetesObject | undefined, written: Written | undefined, now: number): { object: KubernetesObject | undefined; settled: boolean } {
  if (!written) return { object: cached, settled: false };
  if (now - written.at >= WRITTEN_TTL_MS) return { object: cached, settled: true };
  if (!cached) return { object: written.object, settled: false };
  const have = cached.metadata?.resourceVersion;
  const wrote = written.object.metadata?.resourceVersion;
  if (have === wrote) return { object: cached, settled: true };
  const [h, w] = [revision(have), revision(wrote)];
  if (h !== undefined && w !== undefined && h > w) return { object: cached, settled: true };
  return { object: written.object, settled: false };
}

/** The records' key: one per child object. */
export const writtenKey = (kind: string, namespace: string | undefined, name: string | undefined): string => `${kind}/${namespace ?? ''}/${name ?? ''}`;
