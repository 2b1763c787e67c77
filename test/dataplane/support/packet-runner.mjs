// Runs inside the test's LB namespace: programs the xdp data plane (compiled agent sources in <buildDir>) and
// feeds frames to a second instance of its TC program (or, with "hook": "xdp", its XDP program) with
// BPF_PROG_TEST_RUN. Steps come as a JSON array on stdin: {"apply": DesiredState}, {"packet": hex, "hook"?},
// {"gc": seconds} (one flow garbage-collection pass as if the clock were that much later), {"listen": port} (a
// TCP and a UDP socket of the LB pod's own on that port, as its health server has), {"waitMs": ms} (real time
// passes: the program's own clock, bpf_ktime_get_ns, cannot be faked) or {"stats": true} (the data plane's
// global counters, as the agent reports them); results go to stdout as a JSON array.
//   node packet-runner.mjs <buildDir> <pinDir> <ifindex>
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

const [buildDir, pinDir, ifindex] = process.argv.slice(2);
const { XdpDataPlane } = await import(`${buildDir}/src/dataplane/xdp/xdp-dataplane.js`);
const { loadAddon, bpfObjectPath } = await import(`${buildDir}/src/dataplane/xdp/addon.js`);
const { monotonicSeconds } = await import(`${buildDir}/src/dataplane/xdp/flow-gc.js`);

const steps = JSON.parse(readFileSync(0, 'utf8'));
const dataPlane = new XdpDataPlane({ pinDir, gcIntervalMs: 0 });
const addon = loadAddon();
const programs = {};
const results = [];
const sockets = [];
for (const step of steps) {
  if (step.listen !== undefined) {
    const tcp = createServer();
    const udp = createSocket('udp4');
    await new Promise((resolve) => tcp.listen(step.listen, resolve));
    await new Promise((resolve) => udp.bind(step.listen, resolve));
    sockets.push(tcp, udp);
    results.push({ listening: step.listen });
    continue;
  }
  if (step.waitMs !== undefined) {
    await new Promise((resolve) => setTimeout(resolve, step.waitMs));
    results.push({ waited: step.waitMs });
    continue;
  }
  if (step.stats) {
    results.push({ global: (await dataPlane.observe()).global });
    continue;
  }
  if (step.apply) {
    results.push({ applied: (await dataPlane.apply(step.apply)).changed });
    continue;
  }
  if (step.gc !== undefined) {
    const r = await dataPlane.gc(monotonicSeconds() + step.gc);
    results.push({ entries: r.entries, deleted: r.deleted });
    continue;
  }
  const hook = step.hook ?? 'tc';
  // The data plane's map sizes: others would not match the pinned maps, which libbpf would then replace under
  // the data plane (its GC would read an empty table).
  programs[hook] ??= addon.openObject(bpfObjectPath(hook), pinDir, dataPlane.mapSizes());
  const { retval, packet } = addon.testRun(programs[hook].programFd, Buffer.from(step.packet, 'hex'), Number(ifindex));
  results.push({ retval, packet: packet.toString('hex') });
}
process.stdout.write(JSON.stringify(results));
for (const s of sockets) s.close();
await dataPlane.close();
