// The registry-less image (hack/image-oci.sh: umoci packs what hack/image-rootfs.sh builds from
// hack/image-contents.txt) is the Dockerfile's runtime stage: the same configuration (user, environment, working
// directory, ports, command, labels; checked against the Dockerfile's own lines) and a filesystem holding every
// package's programs and every copy and link entry of the list. `make e2e` imports this archive into real nodes.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { repoRoot } from './harness/index.js';
import { ensureBuilt } from './support/operator-process.js';
import { parseDockerfile } from '../unit/packaging/dockerfile-parse.js';
import { dockerLabels, parseImageContents } from '../unit/packaging/image-contents.js';

jest.setTimeout(300_000);

const isRoot = process.getuid?.() === 0;
const hasUmoci = spawnSync('umoci', ['--version']).status === 0;
if ((!isRoot || !hasUmoci) && process.env['CI'] === 'true') throw new Error('CI runs as root with umoci (hack/install-cluster-deps.sh): the OCI image test must not skip');
if (!isRoot || !hasUmoci) console.log('skipping the OCI image test: needs root and umoci (bash hack/install-cluster-deps.sh)');
const maybe = isRoot && hasUmoci ? describe : describe.skip;

interface OciConfig {
  architecture: string;
  os: string;
  config: { User?: string; Env?: string[]; WorkingDir?: string; ExposedPorts?: Record<string, object>; Cmd?: string[]; Entrypoint?: string[] | null; Labels?: Record<string, string> };
  rootfs: { diff_ids: string[] };
}

const read = (p: string) => readFileSync(join(repoRoot, p), 'utf8');
const contents = parseImageContents(read('hack/image-contents.txt'));
const runtime = parseDockerfile(read('Dockerfile')).stages[1]!;
const dockerfile = (op: string) => runtime.instructions.filter((i) => i.op === op).map((i) => i.args);
let dir = '';
let config: OciConfig;
let layers: string[] = [];

maybe('the OCI image of hack/image-oci.sh', () => {
  beforeAll(() => {
    ensureBuilt();
    // Cold: debootstrap + apt (1-3 min, shared with image-rootfs.test.ts), then ~20 s to pack.
    const archive = execFileSync('bash', [join(repoRoot, 'hack/image-oci.sh'), 'localhost/portable-lb:oci-test'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    dir = mkdtempSync(join(tmpdir(), 'plb-oci-'));
    execFileSync('tar', ['-C', dir, '-xf', archive]);
    rmSync(archive);
    const blob = (digest: string) => readFileSync(join(dir, 'blobs', ...digest.split(':')), 'utf8');
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
    expect(index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'])).toEqual(['oci-test']);
    const manifest = JSON.parse(blob(index.manifests[0]!.digest)) as { config: { digest: string }; layers: Array<{ digest: string }> };
    config = JSON.parse(blob(manifest.config.digest)) as OciConfig;
    layers = manifest.layers.map((l) => join(dir, 'blobs', ...l.digest.split(':')));
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('has the Dockerfile runtime stage\'s configuration, for linux/amd64', () => {
    expect([config.os, config.architecture]).toEqual(['linux', 'amd64']);
    expect(config.config.User).toBe(dockerfile('USER')[0]);
    for (const env of dockerfile('ENV')) expect(config.config.Env).toContain(env);
    expect(config.config.WorkingDir).toBe(dockerfile('WORKDIR')[0]);
    expect(Object.keys(config.config.ExposedPorts ?? {}).sort()).toEqual(dockerfile('EXPOSE').join(' ').split(' ').sort());
    expect(config.config.Cmd).toEqual(JSON.parse(dockerfile('CMD')[0]!));
    expect(config.config.Entrypoint ?? []).toEqual([]);
    const version = (JSON.parse(read('package.json')) as { version: string }).version;
    const labels = dockerLabels(dockerfile('LABEL').join(' '));
    delete labels['org.opencontainers.image.base.name']; // the node:20-slim base only the Dockerfile has
    expect(config.config.Labels).toEqual({ ...labels, 'org.opencontainers.image.version': version });
  });

  test('holds the Debian part in one layer and the list\'s copy and link entries in the other', () => {
    expect(layers).toHaveLength(2);
    const list = (layer: string) => new Set(execFileSync('tar', ['-tzf', layer], { encoding: 'utf8', maxBuffer: 256 << 20 }).split('\n').map((l) => `/${l.replace(/^\.?\//, '').replace(/\/$/, '')}`));
    const [debian, app] = layers.map(list) as [Set<string>, Set<string>];
    for (const program of ['/usr/sbin/nft', '/usr/bin/ip', '/usr/bin/mount', '/usr/sbin/bird', '/usr/sbin/birdc']) {
      expect({ program, present: debian.has(program) || debian.has(program.replace('/usr', '')) }).toEqual({ program, present: true });
    }
    for (const { dest } of contents.copies) expect({ dest, present: app.has(dest) }).toEqual({ dest, present: true });
    for (const { path } of contents.links) expect({ path, present: app.has(path) }).toEqual({ path, present: true });
    expect(app.has('/usr/local/bin/node')).toBe(true);
    // Only runtime dependencies, as `npm prune --omit=dev` leaves them in the Dockerfile's image.
    expect([...app].some((p) => p.startsWith('/opt/portable-lb/node_modules/typescript/'))).toBe(false);
  });
});
