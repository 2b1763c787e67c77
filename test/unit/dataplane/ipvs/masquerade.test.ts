// The ipvs plane's own nftables table: the masquerade of what IPVS sends to the backends, and the MSS clamp.
import { describe, expect, test } from '@jest/globals';
import { renderMasquerade } from '../../../../src/dataplane/ipvs/masquerade.js';
import type { DesiredState } from '../../../../src/dataplane/types.js';

const desired = (over: Partial<DesiredState> = {}): DesiredState => ({
  vip: '10.240.200.10',
  ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }, { name: 'echo', port: 53, targetPort: 5353, protocol: 'UDP' }],
  backends: [{ ip: '10.240.1.1', weight: 1 }],
  scheduler: 'maglev', attach: 'auto', interface: 'eth0', snatIp: '10.240.0.3',
  ...over,
});

describe('renderMasquerade', () => {
  test('masquerades the backends\' (address, protocol, port), draining ones included', () => {
    const text = renderMasquerade(desired(), [{ ip: '10.240.1.2', port: 8080, protocol: 'TCP' }]);
    expect(text).toContain('    elements = { 10.240.1.1 . tcp . 8080, 10.240.1.1 . udp . 5353, 10.240.1.2 . tcp . 8080 }\n');
    expect(text).toContain('    ip daddr . meta l4proto . th dport @backends masquerade\n');
    expect(text).not.toMatch(/random|persistent/);
  });

  test('without tcpMssClamp, MSS options are left alone', () => {
    expect(renderMasquerade(desired(), [])).not.toMatch(/maxseg|chain mss/);
  });

  test('with tcpMssClamp, SYNs to the backends and SYN-ACKs from the VIP are lowered to it (never raised)', () => {
    const text = renderMasquerade(desired({ tcpMssClamp: 1410 }), []);
    expect(text).toContain([
      '  chain mss {',
      '    type filter hook postrouting priority mangle; policy accept;',
      '    ip daddr . meta l4proto . th dport @backends tcp flags syn tcp option maxseg size > 1410 counter tcp option maxseg size set 1410',
      '    ip saddr 10.240.200.10 tcp flags syn tcp option maxseg size > 1410 counter tcp option maxseg size set 1410',
      '  }',
    ].join('\n'));
    expect(text).not.toContain('rt mtu');
  });
});
