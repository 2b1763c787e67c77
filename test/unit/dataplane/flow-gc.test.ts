import { describe, expect, test } from '@jest/globals';
import {
  DEFAULT_FLOW_TIMEOUTS, SNAT_NEARLY_USED, drainedBackends, flowTimeoutsOf, isExpired, snatKey, snatWarnings, timeoutOf,
} from '../../../src/dataplane/xdp/flow-gc.js';
import {
  DIR_FORWARD, DIR_REVERSE, FLOW_CLOSING, FLOW_ESTABLISHED, FLOW_KEY_SIZE, FLOW_SYN, decodeFlow, encodeFlow, partnerKey,
} from '../../../src/dataplane/xdp/layout.js';

const TCP = 6;
const UDP = 17;
const t = { tcpEstablishedSeconds: 1000, tcpSynSeconds: 60, tcpClosingSeconds: 10, udpSeconds: 30 };

describe('flow expiry', () => {
  test.each([
    [TCP, FLOW_SYN, 60], [TCP, FLOW_ESTABLISHED, 1000], [TCP, FLOW_CLOSING, 10],
    [UDP, FLOW_ESTABLISHED, 30], [UDP, FLOW_CLOSING, 30],
  ])('protocol %i state %i: idle timeout %i s', (proto, state, seconds) => {
    expect(timeoutOf(proto, state, t)).toBe(seconds);
    expect(isExpired(proto, state, 5000, 5000 + seconds - 1, t)).toBe(false);
    expect(isExpired(proto, state, 5000, 5000 + seconds, t)).toBe(true);
  });

  test('a stamp newer than the clock read (a packet during the pass) is not expired', () => {
    expect(isExpired(TCP, FLOW_CLOSING, 5001, 5000, t)).toBe(false);
  });

  test('defaults: established TCP long, closing as long as the backend TIME_WAIT, UDP short; settings override one by one', () => {
    expect(DEFAULT_FLOW_TIMEOUTS).toEqual({ tcpEstablishedSeconds: 21_600, tcpSynSeconds: 60, tcpClosingSeconds: 60, udpSeconds: 30 });
    expect(flowTimeoutsOf(undefined)).toEqual(DEFAULT_FLOW_TIMEOUTS);
    expect(flowTimeoutsOf({ udpSeconds: 5, maxFlows: 10 })).toEqual({ ...DEFAULT_FLOW_TIMEOUTS, udpSeconds: 5 });
  });
});

test('backends whose drainSeconds are over, by the time each was first seen draining', () => {
  const since = new Map([[1, 100], [2, 108], [3, 109]]);
  expect([...drainedBackends(since, 110, 2)].sort()).toEqual([1, 2]);
  expect([...drainedBackends(since, 110, 0)].sort()).toEqual([1, 2, 3]);
  expect(drainedBackends(new Map(), 110, 0).size).toBe(0);
});

describe('flow entries', () => {
  const fwd = {
    key: { saddr: '10.0.0.2', daddr: '10.0.200.10', sport: 40000, dport: 80, proto: TCP },
    value: { saddr: '10.0.0.3', daddr: '10.0.1.1', sport: 1234, dport: 8080, serviceId: 1, backendId: 2, dir: DIR_FORWARD, state: FLOW_SYN, close: 0, lastSeen: 77 },
  };
  const rev = {
    key: { saddr: '10.0.1.1', daddr: '10.0.0.3', sport: 8080, dport: 1234, proto: TCP },
    value: { saddr: '10.0.200.10', daddr: '10.0.0.2', sport: 80, dport: 40000, serviceId: 1, backendId: 2, dir: DIR_REVERSE, state: FLOW_SYN, close: 0x19, lastSeen: 77 },
  };

  test.each([['forward', fwd], ['reverse (close bits set)', rev]])('round-trip of a %s entry', (_, e) => {
    const { key, value } = encodeFlow(e);
    expect(decodeFlow(key, value)).toEqual(e);
  });

  test.each([['forward', fwd, rev], ['reverse', rev, fwd]])('the partner key of a %s entry is the other entry\'s key', (_, from, to) => {
    const { key, value } = encodeFlow(from);
    const out = Buffer.alloc(2 * FLOW_KEY_SIZE, 0xff);
    partnerKey(key, 0, value, 0, out, FLOW_KEY_SIZE);
    expect(out.subarray(FLOW_KEY_SIZE).toString('hex')).toBe(encodeFlow(to).key.toString('hex'));
    expect(out.subarray(0, FLOW_KEY_SIZE).equals(Buffer.alloc(FLOW_KEY_SIZE, 0xff))).toBe(true);
  });
});

describe('SNAT warnings', () => {
  const ip = (id: number) => (id === 1 ? '10.0.1.1' : undefined);
  test('nothing below the threshold and without drops', () => {
    expect(snatWarnings(new Map([[snatKey(1, 8080), 899]]), 1000, ip, new Map([[1, 0]]))).toEqual([]);
  });
  test('a backend port nearly out of SNAT tuples, and drops since the last pass, each named', () => {
    expect(SNAT_NEARLY_USED).toBe(0.9);
    expect(snatWarnings(new Map([[snatKey(1, 8080), 930], [snatKey(2, 53), 10]]), 1000, ip, new Map([[1, 3], [2, 0]]))).toEqual([
      'SNAT ports towards backend 10.0.1.1:8080 are 93 % used (930 of 1000 flows): new flows to it will start failing; add backends or LB replicas',
      '3 new flows to backend 10.0.1.1 were dropped: no free SNAT port towards it',
    ]);
  });
});
