// BIRD's control-socket replies (captured from BIRD 2.0.12 against an FRR router) -> session states.
import { describe, expect, it } from '@jest/globals';
import { BirdReplyParser } from '../../../../src/agent/bgp/birdc.js';
import { parseBfdSessions, parseProtocols, sessionStates } from '../../../../src/agent/bgp/sessions.js';

const PROTOCOLS = `0001 BIRD 2.0.12 ready.
2002-Name       Proto      Table      State  Since         Info
1002-device1    Device     ---        up     18:19:19.117  
1006-
1002-peer_rtr_1a2b BGP        ---        up     18:19:37.781  Established   
1006-  BGP state:          Established
     Neighbor address: 10.9.0.1
     Neighbor AS:      64500
     Local AS:         64512
   Channel ipv4
     State:          UP
     Routes:         0 imported, 1 exported, 0 preferred
     BGP Next hop:   10.9.0.11
 
1002-peer_b_9999 BGP        ---        start  18:19:40.001  Active        Socket: Connection refused
1006-  BGP state:          Active
     Neighbor address: 10.9.1.1
     Last error:       Socket: Connection refused
 
0000 
`;
const BFD = `1020-plb_bfd:
 IP address                Interface  State      Since         Interval  Timeout
 10.9.0.1                  eth0       Up         18:19:39.422    0.300    0.900
 10.9.1.1                  ---        Down       18:19:40.000    1.000    0.000
0000 
`;

const parse = (text: string) => {
  const p = new BirdReplyParser();
  return p.push(text);
};

describe('BirdReplyParser', () => {
  it('swallows the greeting and ends a reply at a 0xxx line', () => {
    const replies = parse(PROTOCOLS);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.code).toBe(0);
  });

  it('completes a reply split across chunks, and ends one at an error code', () => {
    const p = new BirdReplyParser();
    expect(p.push('0001 BIRD 2.0.12 ready.\n0002-Reading configuration from /x\n')).toEqual([]);
    const [reply] = p.push('8002 /x: No such file or directory\n');
    expect(reply).toEqual({ code: 8002, lines: [{ code: 2, text: 'Reading configuration from /x' }, { code: 8002, text: '/x: No such file or directory' }] });
  });
});

describe('session states', () => {
  const protocols = parseProtocols(parse(PROTOCOLS)[0]!);
  const bfd = parseBfdSessions(parse(`0001 BIRD ready.\n${BFD}`)[0]!);

  it('reads state, neighbour, exported routes and last error of each BGP protocol', () => {
    expect(protocols.find((p) => p.name === 'peer_rtr_1a2b')).toEqual({ name: 'peer_rtr_1a2b', state: 'Established', neighbor: '10.9.0.1', exported: 1 });
    expect(protocols.find((p) => p.name === 'peer_b_9999')).toEqual({
      name: 'peer_b_9999', state: 'Active', neighbor: '10.9.1.1', exported: 0, lastError: 'Socket: Connection refused',
    });
  });

  it('reads BFD sessions by address', () => {
    expect([...bfd]).toEqual([['10.9.0.1', 'Up'], ['10.9.1.1', 'Down']]);
  });

  it('gives one state per peer: announced only when Established and exporting; skipped peers say why', () => {
    const states = sessionStates(
      { peer_rtr_1a2b: 'rtr', peer_b_9999: 'b', peer_c_0000: 'c' },
      { rtr: '10.9.0.1', b: '10.9.1.1', c: '10.9.2.1', v6: 'fd00::1' },
      { rtr: true, b: true, c: false },
      protocols,
      bfd,
      { v6: 'peerAddress fd00::1 is not of the VIP family' },
    );
    expect(states).toEqual([
      { peer: 'b', peerAddress: '10.9.1.1', state: 'Active', bfdState: 'Down', announced: false, lastError: 'Socket: Connection refused' },
      { peer: 'c', peerAddress: '10.9.2.1', state: 'Idle', announced: false },
      { peer: 'rtr', peerAddress: '10.9.0.1', state: 'Established', bfdState: 'Up', announced: true },
      { peer: 'v6', peerAddress: 'fd00::1', state: 'Idle', announced: false, lastError: 'peerAddress fd00::1 is not of the VIP family' },
    ]);
  });
});
