// The steady load's failure kinds: a reset is in flight even when Node reported it before its 'connect' event.
import { describe, expect, it } from '@jest/globals';
import { failureKind } from '../../lab/failure-kind.mjs';

describe('failureKind', () => {
  it.each<[string, boolean, string | undefined, 'connect' | 'inFlight']>([
    ['a SYN answered by a RST (no listener, nothing forwards it)', false, 'ECONNREFUSED', 'connect'],
    ['no handshake within the timeout', false, undefined, 'connect'],
    ['no route to the VIP', false, 'EHOSTUNREACH', 'connect'],
    ['reset after the handshake, before Node saw the connect', false, 'ECONNRESET', 'inFlight'],
    ['reset while the request was in flight', true, 'ECONNRESET', 'inFlight'],
    ['timeout after the connect', true, undefined, 'inFlight'],
  ])('%s', (_name, connected, code, kind) => {
    expect(failureKind(connected, code)).toBe(kind);
  });
});
