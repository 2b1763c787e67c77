// The flow garbage collector against a real flow map of 1 000 000 flows (2 000 000 entries): it must remove
// exactly the expired flows, both entries of each, and keep the rest. Prints the pass times and the table's
// kernel memory (no thresholds: a shared machine's timing is not a result; `make bench` reports them).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { DEFAULT_FLOW_TIMEOUTS, collectFlows, monotonicSeconds } from '../../src/dataplane/xdp/flow-gc.js';
import { FLOW_CLOSING, FLOW_ESTABLISHED, FLOW_KEY_SIZE, flowTableEntries } from '../../src/dataplane/xdp/layout.js';
import { fillFlows, openFlowTable, type FlowTable } from './support/flow-table.js';
import { ARTIFACTS } from './support/lab.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';

jest.setTimeout(300_000);
const FLOWS = 1_000_000;
// Exactly FLOWS: the table the agent sizes for maxFlows holds that many (the case below); no flow is lost before
// the pass, so the counts are exact.
const MAX_FLOWS = FLOWS;

suiteIf(missingPrerequisites(ARTIFACTS), 'flow GC')('flow garbage collection on a real map', () => {
  let table: FlowTable | undefined;

  beforeAll(() => {
    table = openFlowTable(ARTIFACTS, MAX_FLOWS);
  });

  afterAll(() => {
    table?.close();
  });

  test('1 000 000 flows, half of them expired: one pass removes exactly those, both entries; a second pass removes nothing', async () => {
    const { addon, maps } = table!;
    expect(maps.flowCapacity()).toBe(flowTableEntries(MAX_FLOWS, addon.possibleCpus()));
    const now = monotonicSeconds();
    const filled = Date.now();
    // every other flow closed 100 s ago: past tcpClosing (60 s); the rest established and busy
    fillFlows(addon, maps.flowsFd, FLOWS, (i) => (i % 2 === 0 ? { state: FLOW_CLOSING, lastSeen: now - 100 } : { state: FLOW_ESTABLISHED, lastSeen: now }));
    const fillSeconds = (Date.now() - filled) / 1000;
    const first = await collectFlows(addon, maps.flowsFd, DEFAULT_FLOW_TIMEOUTS, { now });
    const second = await collectFlows(addon, maps.flowsFd, DEFAULT_FLOW_TIMEOUTS, { now });
    process.stderr.write(`flow GC at ${FLOWS} flows (${2 * FLOWS} entries): table memory ${(maps.flowMemoryBytes() / 2 ** 20).toFixed(0)} MiB; ` +
      `fill ${fillSeconds.toFixed(2)} s; pass deleting ${first.deleted} entries ${first.seconds.toFixed(2)} s (CPU ${first.cpuSeconds.toFixed(2)} s); ` +
      `pass over ${second.entries} live entries ${second.seconds.toFixed(2)} s (CPU ${second.cpuSeconds.toFixed(2)} s)\n`);
    expect({ deleted: first.deleted, entries: first.entries }).toEqual({ deleted: FLOWS, entries: FLOWS });
    expect({ deleted: second.deleted, entries: second.entries, expired: second.expired }).toEqual({ deleted: 0, entries: FLOWS, expired: 0 });
    // what is left is the established half, both directions of each: the SNAT tuples in use are counted per backend port
    expect([...second.snatInUse.values()].reduce((a, b) => a + b, 0)).toBe(FLOWS / 2);
  });
});

/** CPUs this process may run on (sched_getaffinity, as taskset prints it: "0-1", "0,2"). */
const affinity = (): string => /: (\S+)\s*$/.exec(execFileSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' }))![1]!;
const pinTo = (cpus: string): void => void execFileSync('taskset', ['-pc', cpus, String(process.pid)], { stdio: 'ignore' });

suiteIf(missingPrerequisites(ARTIFACTS), 'flow GC')('a flow table sized for maxFlows', () => {
  // The kernel's common LRU hands free entries to each CPU in batches of 128 and evicts as soon as the shared free
  // list cannot fill a batch; entries a CPU took and did not use stay on its list. A table of exactly 2 x maxFlows
  // entries therefore lost flows before it was full. maxFlows 1000 (2000 entries, not a multiple of 128), filled
  // half from one CPU and half from another (the agent's pass and the program run on any CPU).
  test.each([1000, 3000])('holds maxFlows %i flows filled from two CPUs: none evicted', (maxFlows) => {
    const table = openFlowTable(ARTIFACTS, maxFlows);
    const cpus = affinity();
    try {
      const { addon, maps } = table;
      const now = monotonicSeconds();
      const half = maxFlows / 2;
      pinTo('0');
      fillFlows(addon, maps.flowsFd, half, () => ({ state: FLOW_ESTABLISHED, lastSeen: now }));
      pinTo(String(addon.possibleCpus() - 1));
      fillFlows(addon, maps.flowsFd, maxFlows, () => ({ state: FLOW_ESTABLISHED, lastSeen: now }), half);
      const entries = addon.mapKeys(maps.flowsFd, FLOW_KEY_SIZE).length;
      expect({ entries, flows: maxFlows }).toEqual({ entries: 2 * maxFlows, flows: maxFlows });
    } finally {
      pinTo(cpus);
      table.close();
    }
  });
});
