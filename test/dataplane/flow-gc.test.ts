// The flow garbage collector against a real flow map of 1 000 000 flows (2 000 000 entries): it must remove
// exactly the expired flows, both entries of each, and keep the rest. Prints the pass times and the table's
// kernel memory (no thresholds: a shared machine's timing is not a result; `make bench` reports them).
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { DEFAULT_FLOW_TIMEOUTS, collectFlows, monotonicSeconds } from '../../src/dataplane/xdp/flow-gc.js';
import { FLOW_CLOSING, FLOW_ESTABLISHED, flowTableEntries } from '../../src/dataplane/xdp/layout.js';
import { fillFlows, openFlowTable, type FlowTable } from './support/flow-table.js';
import { ARTIFACTS } from './support/lab.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';

jest.setTimeout(300_000);
const FLOWS = 1_000_000;
// The LRU keeps per-CPU free lists and evicts when the common one runs dry, before every slot is used (64 of
// 2 000 000 entries were evicted here at exactly 2 x FLOWS): maxFlows gets 1 % headroom, as docs/dataplane-xdp.md
// advises, so that no flow is lost before the pass and the counts below are exact.
const MAX_FLOWS = Math.ceil(FLOWS * 1.01);

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
    expect(maps.flowCapacity()).toBe(flowTableEntries(MAX_FLOWS));
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
