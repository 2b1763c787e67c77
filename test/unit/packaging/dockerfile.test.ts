// The Dockerfile cannot be built on this machine (no container engine), so these checks hold it to the
// repository: every file it copies exists and survives .dockerignore, every script it runs exists, the runtime
// stage installs what the agent executes and links, and the entrypoints and user match package.json and the chart.
// hack/image-contents.txt is the one list of what the runtime stage holds: every COPY, link, USER, ENV, WORKDIR,
// EXPOSE, CMD and LABEL of the Dockerfile must be its entry, and the registry-less path (hack/image-rootfs.sh,
// hack/image-oci.sh) builds from the list alone (test/integration/image-oci.test.ts compares the packed image).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
// jest runs from the repository root (as the other unit tests assume).
const repoRoot = process.cwd();
import { copyParts, ignoredBy, parseDockerfile } from './dockerfile-parse.js';
import { dockerLabels, parseImageContents } from './image-contents.js';

const read = (p: string) => readFileSync(join(repoRoot, p), 'utf8');
const { args, stages } = parseDockerfile(read('Dockerfile'));
const [build, runtime] = stages;
const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const contents = parseImageContents(read('hack/image-contents.txt'));
const runtimePackages = contents.packages;
const runs = (s: typeof build) => s!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');

describe('Dockerfile', () => {
  test('has a named build stage and a slim runtime stage on the same Node and Debian release', () => {
    expect(stages).toHaveLength(2);
    expect(build?.name).toBe('build');
    expect(build?.from).toBe('node:${NODE_VERSION}-${DEBIAN_RELEASE}');
    expect(runtime?.from).toBe('node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim');
    expect(args.map((a) => a.args)).toEqual(['NODE_VERSION=20', 'DEBIAN_RELEASE=bookworm']);
    // CI builds with Node 20 on bookworm; the image must not drift from what the tests exercised.
    expect(read('package.json')).toMatch(/"node": ">=20/);
  });

  test('every COPY source from the context exists and is not excluded by .dockerignore', () => {
    const sources = stages.flatMap((s) => s.instructions.filter((i) => i.op === 'COPY' || i.op === 'ADD'))
      .map(copyParts).filter((c) => !c.flags['from']).flatMap((c) => c.sources);
    expect(sources.length).toBeGreaterThan(4);
    for (const src of sources) {
      expect({ src, exists: existsSync(join(repoRoot, src)), ignored: ignoredBy(ignore, src) }).toEqual({ src, exists: true, ignored: false });
    }
  });

  test('.dockerignore keeps host build output out of the context', () => {
    for (const p of ['node_modules', 'dist', 'build/dataplane/plb_bpf.node', '.git', 'src/dataplane/xdp/addon/build/Release']) {
      expect({ p, ignored: ignoredBy(ignore, p) }).toEqual({ p, ignored: true });
    }
  });

  test('the build stage runs the repository build: npm ci, tsc, the operator\'s bundle and hack/build-dataplane.sh', () => {
    const script = runs(build);
    expect(script).toMatch(/npm ci/);
    expect(script).toMatch(/tsc -p tsconfig\.build\.json/);
    // The same steps as `npm run build`, and the bundle is made before `npm prune` drops esbuild (a dev dependency).
    expect((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['build']).toBe('tsc -p tsconfig.build.json && node hack/bundle-operator.mjs');
    expect(script.indexOf('node hack/bundle-operator.mjs')).toBeGreaterThan(script.indexOf('tsc -p tsconfig.build.json'));
    expect(script.indexOf('node hack/bundle-operator.mjs')).toBeLessThan(script.indexOf('npm prune'));
    for (const [, path] of script.matchAll(/bash (hack\/\S+\.sh)/g)) expect(existsSync(join(repoRoot, path!))).toBe(true);
    expect(script).toMatch(/bash hack\/build-dataplane\.sh/);
    // The same toolchain as hack/install-dataplane-deps.sh's build part.
    for (const pkg of ['clang', 'llvm', 'libbpf-dev', 'libelf-dev', 'zlib1g-dev', 'g++']) {
      expect(read('hack/install-dataplane-deps.sh')).toContain(`:${pkg}"`);
      expect(script).toMatch(new RegExp(`\\s${pkg.replace('+', '\\+')}\\s`));
    }
  });

  test('the runtime stage copies exactly the list\'s copy entries, from what build-dataplane.sh and tsc produce', () => {
    const copied = runtime!.instructions.filter((i) => i.op === 'COPY').map(copyParts).filter((c) => c.flags['from'] === 'build')
      .map((c) => ({ src: c.sources.join(' ').replace(/^\/src\//, ''), dest: c.dest }));
    expect(copied).toEqual(contents.copies);
    expect(contents.copies.map((c) => c.src)).toEqual(expect.arrayContaining(['package.json', 'node_modules', 'dist/src', 'dist/operator', 'build/dataplane']));
    expect(read('hack/build-dataplane.sh')).toMatch(/OUT="\$ROOT\/build\/dataplane"/);
  });

  test('the list links both package.json bin entries onto PATH, and the Dockerfile makes the list\'s links', () => {
    const bins = (JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin;
    expect(contents.links).toEqual(Object.entries(bins).map(([name, target]) => ({ path: `/usr/local/bin/${name}`, target: `/opt/portable-lb/${target}` })));
    for (const target of Object.values(bins)) expect(runs(build)).toContain(target); // made executable in the build stage
    expect(runs(runtime)).toContain(`awk '$1 == "link" { print $3, $2 }' /tmp/image-contents.txt | xargs -n 2 ln -s`);
  });

  test('the Dockerfile installs the list\'s packages and sets its user, environment, directory, ports, command and labels', () => {
    expect(runs(runtime)).toContain(`awk '$1 == "package" { print $2 }' /tmp/image-contents.txt`);
    const one = (op: string) => runtime!.instructions.filter((i) => i.op === op).map((i) => i.args);
    expect(one('USER')).toEqual([String(contents.user.uid)]);
    expect(runs(runtime)).toContain(`useradd --system --uid ${contents.user.uid} --gid ${contents.user.name} `);
    expect(one('ENV')).toEqual(contents.env);
    expect(one('WORKDIR')).toEqual([contents.workdir]);
    expect(one('EXPOSE').join(' ').split(' ')).toEqual(contents.expose);
    expect(one('CMD').map((c) => JSON.parse(c) as string[])).toEqual([contents.cmd]);
    expect(one('ENTRYPOINT')).toEqual(['[]']);
    const labels = dockerLabels(one('LABEL').join(' '));
    const version = (JSON.parse(read('package.json')) as { version: string }).version;
    expect(labels).toEqual({
      ...contents.labels,
      'org.opencontainers.image.version': '${VERSION}',
      'org.opencontainers.image.base.name': 'node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim',
    });
    expect(runtime!.instructions.find((i) => i.op === 'ARG')?.args).toBe(`VERSION=${version}`);
  });

  test('the runtime packages cover every program the agent executes and every library the addon links', () => {
    const programs = { ip: 'iproute2', nft: 'nftables', mount: 'mount', conntrack: 'conntrack' } as const;
    const sources = readdirSync(join(repoRoot, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts')).map((f) => read(join('src', f))).join('\n');
    const executed = new Set([...sources.matchAll(/(?:run|exec|spawn|runCommand)\('([a-z]+)'/g)].map((m) => m[1]!));
    expect([...executed].sort()).toEqual(Object.keys(programs).sort());
    for (const p of executed) expect(runtimePackages).toContain(programs[p as keyof typeof programs]);
    expect(read('src/dataplane/xdp/addon/binding.gyp')).toContain('"-lbpf"');
    expect(runtimePackages).toEqual(expect.arrayContaining(['libbpf1', 'libelf1', 'zlib1g']));
    expect(runs(runtime)).toContain('/tmp/image-contents.txt');
  });

  test('runs the operator as the list\'s user, the one the chart runs it as', () => {
    const deployment = read('charts/portable-lb/templates/deployment.yaml');
    expect(deployment).toMatch(new RegExp(`runAsNonRoot: true\\s+runAsUser: ${contents.user.uid}`));
    expect(deployment).toContain(`command: [${contents.cmd.join(', ')}]`);
  });
});
