// A real xdp flow table for the GC's test and its benchmark: the agent's map (plb_flows of the TC object) at the
// size the agent gives it for `maxFlows` (flowTableEntries), pinned in a private bpffs, and filled with
// synthetic flows written the way the BPF program writes them (plb_nat.h: a forward and a reverse entry each).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfObjectPath, loadAddon, type BpfAddon } from '../../../src/dataplane/xdp/addon.js';
import {
  DIR_FORWARD, DIR_REVERSE, FLOW_KEY_SIZE, FLOW_VALUE, FLOW_VALUE_SIZE, MAP_NAMES, flowTableEntries,
} from '../../../src/dataplane/xdp/layout.js';
import { PinnedMaps, mapFdsOf } from '../../../src/dataplane/xdp/maps.js';

export interface FlowTable {
  addon: BpfAddon;
  /** The agent's view of the maps: flowsFd, flowCapacity(), flowMemoryBytes() (the map's memlock, fdinfo). */
  maps: PinnedMaps;
  close(): void;
}

/** Loads the TC object with the flow table sized for `maxFlows`, its maps pinned in a fresh bpffs (root). */
export function openFlowTable(artifacts: string, maxFlows: number): FlowTable {
  const dir = mkdtempSync(join(tmpdir(), `plbflows-${process.pid}-`));
  let mounted = false;
  try {
    execFileSync('mount', ['-t', 'bpf', 'bpf', dir]);
    mounted = true;
    const addon = loadAddon(artifacts);
    const obj = addon.openObject(bpfObjectPath('tc', artifacts), dir, { [MAP_NAMES.flows]: flowTableEntries(maxFlows, addon.possibleCpus()) });
    const close = () => {
      addon.closeObject(obj.handle);
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    };
    return { addon, maps: new PinnedMaps(addon, mapFdsOf(obj.maps)), close };
  } catch (err) {
    if (mounted) execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** What flow i is: its TCP state (FLOW_*) and the second (CLOCK_MONOTONIC) it was last seen. */
export type FlowAge = (i: number) => { state: number; lastSeen: number };

const TCP = 6;
const VIP = 0x0af0c80a; // 10.240.200.10
const SNAT_IP = 0x0af00003; // 10.240.0.3
const SNAT_PORTS = 60_000;

/**
 * Writes TCP flows `from` (default 0) up to `flows`, both entries of each, in BPF_MAP_UPDATE_BATCH calls of 50 000 flows. Flow i:
 * client 1.0.0.0 + i:40000 -> VIP:80, SNAT 10.240.0.3:(1024 + i % 60000) -> backend 11.0.0.0 + i / 60000:8080
 * (service 1, backend id 1 + i / 60000): every reverse key is distinct, as the SNAT port claim makes them.
 */
export function fillFlows(addon: BpfAddon, fd: number, flows: number, age: FlowAge, from = 0): void {
  const chunk = 50_000;
  const keys = Buffer.alloc(2 * chunk * FLOW_KEY_SIZE);
  const values = Buffer.alloc(2 * chunk * FLOW_VALUE_SIZE);
  for (let first = from; first < flows; first += chunk) {
    const n = Math.min(chunk, flows - first);
    keys.fill(0);
    values.fill(0);
    for (let j = 0; j < n; j++) {
      const i = first + j;
      const { state, lastSeen } = age(i);
      const client = 0x01000000 + i;
      const backendNo = Math.floor(i / SNAT_PORTS);
      const backend = 0x0b000000 + backendNo;
      const snatPort = 1024 + (i % SNAT_PORTS);
      // forward: the client's tuple -> the SNAT tuple towards the backend
      writeEntry(keys, values, 2 * j, [client, VIP, 40000, 80], [SNAT_IP, backend, snatPort, 8080], DIR_FORWARD, backendNo, state, lastSeen);
      // reverse: the backend's reply tuple -> back to the client from the VIP
      writeEntry(keys, values, 2 * j + 1, [backend, SNAT_IP, 8080, snatPort], [VIP, client, 80, 40000], DIR_REVERSE, backendNo, state, lastSeen);
    }
    addon.mapUpdateBatch(fd, keys.subarray(0, 2 * n * FLOW_KEY_SIZE), values.subarray(0, 2 * n * FLOW_VALUE_SIZE), 0);
  }
}

type Tuple = [saddr: number, daddr: number, sport: number, dport: number];

function writeEntry(
  keys: Buffer, values: Buffer, slot: number, key: Tuple, value: Tuple, dir: number, backendNo: number, state: number, lastSeen: number,
): void {
  const k = slot * FLOW_KEY_SIZE;
  const v = slot * FLOW_VALUE_SIZE;
  keys.writeUInt32BE(key[0], k); keys.writeUInt32BE(key[1], k + 4); keys.writeUInt16BE(key[2], k + 8); keys.writeUInt16BE(key[3], k + 10);
  keys.writeUInt8(TCP, k + 12);
  values.writeUInt32BE(value[0], v); values.writeUInt32BE(value[1], v + 4); values.writeUInt16BE(value[2], v + 8); values.writeUInt16BE(value[3], v + 10);
  values.writeUInt16LE(1, v + FLOW_VALUE.serviceId);
  values.writeUInt16LE(1 + backendNo, v + FLOW_VALUE.backendId);
  values.writeUInt8(dir, v + FLOW_VALUE.dir);
  values.writeUInt8(state, v + FLOW_VALUE.state);
  values.writeUInt32LE(lastSeen, v + FLOW_VALUE.lastSeen);
}
