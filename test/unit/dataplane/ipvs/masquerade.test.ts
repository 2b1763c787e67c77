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
    const text = renderMasquerade(desired(), [{ ip: '10.240.1.2', port: 8080, protocol: 'TCP' }]).script;
    expect(text).toContain('    elements = { 10.240.1.1 . tcp . 8080, 10.240.1.1 . udp . 5353, 10.240.1.2 . tcp . 8080 }\n');
    expect(text).toContain('    ip daddr . meta l4proto . th dport @backends masquerade\n');
    expect(text).not.toMatch(/random|persistent/);
  });

  test('without tcpMssClamp, MSS options are left alone', () => {
    expect(renderMasquerade(desired(), []).script).not.toMatch(/maxseg|chain mss/);
  });

  test('with tcpMssClamp, SYNs to the backends and SYN-ACKs from the VIP are lowered to it (never raised)', () => {
    const text = renderMasquerade(desired({ tcpMssClamp: 1410 }), []).script;
    expect(text).toContain([
      '  chain mss {',
      '    type filter hook postrouting priority mangle; policy accept;',
      '    ip daddr . meta l4proto . th dport @backends tcp flags syn tcp option maxseg size > 1410 counter tcp option maxseg size set 1410',
      '    ip saddr 10.240.200.10 tcp flags syn tcp option maxseg size > 1410 counter tcp option maxseg size set 1410',
      '  }',
    ].join('\n'));
    expect(text).not.toContain('rt mtu');
  });

  test('an IPv6 VIP: one ip6 table, ipv6_addr elements, ip6 words; no ip table is named when none may exist', () => {
    const m = renderMasquerade(desired({
      vip: '2001:db8:200::10', backends: [{ ip: '2001:db8:1::1', weight: 1 }], snatIp: '2001:db8::3', tcpMssClamp: 1220,
    }), []);
    expect(m.families).toEqual(new Set([6]));
    expect(m.script).toBe([
      'add table ip6 portable_lb_ipvs',
      'delete table ip6 portable_lb_ipvs',
      'table ip6 portable_lb_ipvs {',
      '  set backends {',
      '    type ipv6_addr . inet_proto . inet_service',
      '    elements = { 2001:db8:1::1 . tcp . 8080, 2001:db8:1::1 . udp . 5353 }',
      '  }',
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      '    ip6 daddr . meta l4proto . th dport @backends masquerade',
      '  }',
      '  chain mss {',
      '    type filter hook postrouting priority mangle; policy accept;',
      '    ip6 daddr . meta l4proto . th dport @backends tcp flags syn tcp option maxseg size > 1220 counter tcp option maxseg size set 1220',
      '    ip6 saddr 2001:db8:200::10 tcp flags syn tcp option maxseg size > 1220 counter tcp option maxseg size set 1220',
      '  }',
      '}',
      '',
    ].join('\n'));
  });

  test('after a VIP changed family, the old family\'s draining backends keep their own table (without the MSS chain)', () => {
    const m = renderMasquerade(desired({ vip: '2001:db8:200::10', backends: [{ ip: '2001:db8:1::1', weight: 1 }], tcpMssClamp: 1220 }),
      [{ ip: '10.240.1.1', port: 8080, protocol: 'TCP' }], new Set([4]));
    expect(m.families).toEqual(new Set([4, 6]));
    expect(m.script).toContain('table ip portable_lb_ipvs {\n  set backends {\n    type ipv4_addr . inet_proto . inet_service\n    elements = { 10.240.1.1 . tcp . 8080 }\n');
    expect(m.script.split('table ip portable_lb_ipvs {')[1]!.split('}\nadd table ip6')[0]).not.toContain('chain mss');
    expect(m.script).toContain('table ip6 portable_lb_ipvs {');
  });

  test('once the old family has nothing left to drain, its table is deleted (only because it may exist)', () => {
    const d = desired({ vip: '2001:db8:200::10', backends: [{ ip: '2001:db8:1::1', weight: 1 }] });
    expect(renderMasquerade(d, [], new Set([4, 6])).script).toMatch(/^add table ip portable_lb_ipvs\ndelete table ip portable_lb_ipvs\nadd table ip6 /);
    expect(renderMasquerade(d, [], new Set([6])).script).not.toMatch(/table ip portable_lb_ipvs/);
  });
});
