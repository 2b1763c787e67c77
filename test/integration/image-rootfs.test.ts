// The image's runtime stage, proven without a container engine: hack/image-rootfs.sh builds the same root
// filesystem (Debian bookworm + hack/image-contents.txt + the built package at /opt/portable-lb), and
// the entrypoints run from it under chroot: the operator as the non-root plb user against a real kube-apiserver,
// the agent's native addon loading through the rootfs's own libbpf.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { eventually, repoRoot, startControlPlane, installCrds, type ControlPlane } from './harness/index.js';
import { freePort } from './harness/ports.js';
import { ensureBuilt } from './support/operator-process.js';

jest.setTimeout(180_000);

const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env['CI'] === 'true') throw new Error('CI runs as root: the image root filesystem test must not skip');
if (!isRoot) console.log('skipping the image root filesystem tests: debootstrap and chroot need root');
const maybe = isRoot ? describe : describe.skip;

// A clean environment, as a container gets: nothing from this machine's shell (NODE_OPTIONS, extra CA files).
const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/tmp' };
let rootfs = '';
let cp: ControlPlane | undefined;
let operator: ChildProcess | undefined;

const inRoot = (args: string[], user?: string) =>
  spawnSync('chroot', [...(user ? [`--userspec=${user}`] : []), rootfs, ...args], { encoding: 'utf8', env: ENV });

maybe('the image root filesystem', () => {
  beforeAll(async () => {
    ensureBuilt();
    // Cold: debootstrap + apt, 1-3 min; later runs reuse the Debian part and only copy the package in.
    rootfs = execFileSync('bash', [join(repoRoot, 'hack/image-rootfs.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    cp = await startControlPlane();
    await installCrds(cp.kubeConfig);
  }, 600_000);
  afterAll(async () => {
    operator?.kill('SIGKILL');
    await cp?.stop();
  });

  test('has every program the agent executes and both entrypoints on PATH', () => {
    const r = inRoot(['/bin/sh', '-c', 'for c in nft ip mount node plb-operator plb-agent; do command -v $c; done']);
    expect(r.stdout.trim().split('\n')).toHaveLength(6);
    expect(inRoot(['nft', '--version']).stdout).toMatch(/^nftables v1\./);
  });

  test("the speaker container's BIRD is there and parses the agent's config (setpriv for the standalone agent too)", () => {
    const r = inRoot(['/bin/sh', '-c', 'for c in bird birdc setpriv; do command -v $c; done']);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    writeFileSync(join(rootfs, 'tmp/bird.conf'), readFileSync(join(repoRoot, 'test/unit/agent/bgp/golden/two-peers-bfd-multihop-password.conf')));
    const parsed = inRoot(['bird', '-p', '-c', '/tmp/bird.conf']);
    expect(parsed.stderr).toBe('');
    expect(parsed.status).toBe(0);
  });

  test('plb-agent runs as a command and prints its usage for a bad invocation', () => {
    const r = inRoot(['plb-agent'], '65532:65532');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: plb-agent run --file/);
  });

  test("the agent's native addon loads with the root filesystem's libbpf", () => {
    const code = "const m = await import('/opt/portable-lb/dist/src/dataplane/xdp/addon.js'); console.log(typeof m.loadAddon().openObject)";
    const r = inRoot(['node', '--input-type=module', '-e', code]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function');
  });

  test('plb-operator runs as the non-root plb user and becomes ready against a real API server', async () => {
    // Inside the root filesystem, readable by uid 65532, as a mounted service-account config would be.
    copyFileSync(cp!.kubeconfigPath, join(rootfs, 'tmp/kubeconfig'));
    chmodSync(join(rootfs, 'tmp/kubeconfig'), 0o644);
    const port = await freePort();
    const logs: string[] = [];
    operator = spawn('chroot', ['--userspec=65532:65532', rootfs, 'plb-operator', '--kubeconfig=/tmp/kubeconfig',
      `--metrics-bind-address=127.0.0.1:${port}`, '--leader-elect', '--leader-election-namespace=default'],
    { env: { ...ENV, POD_NAME: 'rootfs-operator' }, stdio: ['ignore', 'pipe', 'pipe'] });
    operator.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
    operator.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
    try {
      await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200), 60_000);
      expect(logs.join('')).toMatch(/"msg":"became leader"/);
      expect(Number(spawnSync('ps', ['-o', 'uid=', '-p', String(operator.pid)], { encoding: 'utf8' }).stdout.trim())).toBe(65532);
    } catch (err) {
      console.log(logs.join(''));
      throw err;
    }
  });
});
