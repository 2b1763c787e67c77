// The stand-in kubelet's volumes. No mount namespaces per container here: an emptyDir is a directory of the
// lab's, and an environment value naming its mount path is pointed there; the one Secret volume the agent reads
// (its BGP peers, at BGP_PEERS_DIR) is written to a directory of the lab's, named by PLB_BGP_PEERS_FILE (which the
// agent honours), and refreshed as the kubelet refreshes Secret volumes (atomically, like its ..data swap).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';
import { BGP_PEERS_DIR } from '../../src/api/constants.js';

export class PodVolumes {
  /** Secret name -> directory, for this pod's Secret volumes. */
  readonly #secrets = new Map<string, string>();
  readonly #emptyDirs = new Map<string, string>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly pod: V1Pod,
    private readonly dir: string,
  ) {
    for (const v of pod.spec?.volumes ?? []) {
      if (!v.emptyDir) continue;
      const d = join(dir, v.name);
      mkdirSync(d, { recursive: true });
      this.#emptyDirs.set(v.name, d);
    }
  }

  /** Rewrites `env` (the container's resolved environment) for the lab's directories. */
  mapEnv(container: V1Container, env: NodeJS.ProcessEnv): void {
    for (const mount of container.volumeMounts ?? []) {
      const d = this.#emptyDirs.get(mount.name);
      if (d) for (const [k, v] of Object.entries(env)) if (v === mount.mountPath) env[k] = d;
      const secret = this.pod.spec?.volumes?.find((v) => v.name === mount.name)?.secret?.secretName;
      if (!secret || mount.mountPath !== BGP_PEERS_DIR) continue;
      const sd = join(this.dir, mount.name);
      mkdirSync(sd, { recursive: true });
      this.#secrets.set(secret, sd);
      env['PLB_BGP_PEERS_FILE'] = join(sd, 'peers.json');
    }
  }

  /** Writes each Secret volume's keys into its directory, only when they changed. */
  async refresh(): Promise<void> {
    const namespace = this.pod.metadata?.namespace ?? '';
    for (const [secret, dir] of this.#secrets) {
      const s = await this.core.readNamespacedSecret({ namespace, name: secret }).catch(() => undefined);
      for (const [k, v] of Object.entries(s?.data ?? {})) {
        const text = Buffer.from(v, 'base64').toString('utf8');
        const file = join(dir, k);
        let old: string | undefined;
        try {
          old = readFileSync(file, 'utf8');
        } catch {
          old = undefined;
        }
        if (old === text) continue;
        writeFileSync(`${file}.tmp`, text);
        renameSync(`${file}.tmp`, file);
      }
    }
  }
}
