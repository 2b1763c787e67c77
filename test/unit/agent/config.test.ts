import { describe, expect, test } from '@jest/globals';
import { ConfigError, desiredState, parseStandaloneFile } from '../../../src/agent/config.js';

const file = (spec: string, head = 'apiVersion: portablelb.io/v1alpha1\nkind: PortableLoadBalancer\nmetadata: {name: web}\n') =>
  `${head}spec:\n${spec}`;

const minimal = `  vip: 192.0.2.10
  ports: [{port: 80}]
  backends: {addresses: [{ip: 10.0.1.1}, {ip: 10.0.1.2, weight: 3}]}
`;
const minimal6 = `  vip: 2001:db8::10
  ports: [{port: 80}]
  backends: {addresses: [{ip: '2001:db8:1::1'}, {ip: '2001:db8:1::2', weight: 3}]}
  dataPlane: nftables
`;

function issues(text: string): string[] {
  try {
    parseStandaloneFile(text, 'plb.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.field}: ${i.message}`);
    throw err;
  }
  return [];
}

const peerDoc = (spec: string, name = 'tor') => `---\napiVersion: portablelb.io/v1alpha1\nkind: BGPPeer\nmetadata: {name: ${name}}\nspec: ${spec}\n`;

describe('parseStandaloneFile with BGPPeer documents', () => {
  test('reads the PortableLoadBalancer and its peers from one multi-document file, with the CRD defaults', () => {
    const spec = parseStandaloneFile(`${file(`${minimal}  drainSeconds: 3\n`)}${peerDoc('{peerAddress: 192.0.2.1, peerASN: 64500, myASN: 64512, bfd: {}}')}`, 'plb.yaml');
    expect(spec.drainSeconds).toBe(3);
    expect(spec.peers).toEqual([{
      name: 'tor', peerAddress: '192.0.2.1', peerASN: 64500, myASN: 64512, peerPort: 179, holdTime: 9, keepaliveTime: 3, connectTime: 2,
      ebgpMultihop: false, nextHopMode: 'PodIP', bfd: { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 },
    }]);
  });

  test.each([
    ['a bad ASN', '{peerAddress: 192.0.2.1, peerASN: 0, myASN: 64512}', 'BGPPeer tor: spec.peerASN: must be an AS number from 1 to 4294967294'],
    ['AS_TRANS', '{peerAddress: 192.0.2.1, peerASN: 23456, myASN: 64512}', 'not 23456 (AS_TRANS)'],
    ['a bad address', '{peerAddress: 192.0.2.1/24, peerASN: 64500, myASN: 64512}', 'spec.peerAddress: must be an IPv4 or IPv6 address literal'],
    ['a BFD interval out of range', '{peerAddress: 192.0.2.1, peerASN: 64500, myASN: 64512, bfd: {receiveInterval: 5}}', 'spec.bfd.receiveInterval: must be from 10 to 60000'],
    ['a hold time below 3 s', '{peerAddress: 192.0.2.1, peerASN: 64500, myASN: 64512, holdTime: 2s}', 'spec.holdTime: must be between 3s and 65535s'],
    ['a password Secret', '{peerAddress: 192.0.2.1, peerASN: 64500, myASN: 64512, passwordSecretRef: {name: a, namespace: b}}', 'needs a cluster'],
    ['node next hops', '{peerAddress: 192.0.2.1, peerASN: 64500, myASN: 64512, nextHopMode: NodeIP}', 'NodeIP needs a node'],
  ])('rejects %s, naming the peer and field', (_name, spec, message) => {
    expect(issues(`${file(minimal)}${peerDoc(spec)}`).join('\n')).toContain(message);
  });

  test('wants exactly one PortableLoadBalancer', () => {
    expect(issues(`${file(minimal)}---\n${file(minimal)}`).join()).toContain('want exactly one PortableLoadBalancer');
  });
});

describe('parseStandaloneFile', () => {
  test('applies the CRD defaults: TCP, targetPort = port, weight 1, attach auto, xdp with maglev', () => {
    expect(parseStandaloneFile(file(minimal), 'plb.yaml')).toEqual({
      name: 'web',
      vip: '192.0.2.10',
      ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }],
      backends: [{ ip: '10.0.1.1', weight: 1 }, { ip: '10.0.1.2', weight: 3 }],
      attach: 'auto',
      dataPlane: 'xdp',
      scheduler: 'maglev',
      drainSeconds: 10,
      peers: [],
    });
  });

  test('accepts an IPv6 vip with IPv6 backends on nftables', () => {
    expect(parseStandaloneFile(file(minimal6), 'plb.yaml')).toMatchObject({
      vip: '2001:db8::10', dataPlane: 'nftables', scheduler: 'roundRobin',
      backends: [{ ip: '2001:db8:1::1', weight: 1 }, { ip: '2001:db8:1::2', weight: 3 }],
    });
  });

  test('accepts an IPv6 vip on xdp (the default data plane, maglev)', () => {
    expect(parseStandaloneFile(file(minimal6.replace('  dataPlane: nftables\n', '')), 'plb.yaml')).toMatchObject({
      vip: '2001:db8::10', dataPlane: 'xdp', scheduler: 'maglev',
    });
  });

  test('accepts an IPv6 vip on ipvs (maglev by default)', () => {
    expect(parseStandaloneFile(file(minimal6.replace('nftables', 'ipvs')), 'plb.yaml')).toMatchObject({
      vip: '2001:db8::10', dataPlane: 'ipvs', scheduler: 'maglev',
    });
  });

  test('defaults the scheduler of nftables to roundRobin', () => {
    expect(parseStandaloneFile(file(`${minimal}  dataPlane: nftables\n`), 'plb.yaml')).toMatchObject({ dataPlane: 'nftables', scheduler: 'roundRobin' });
  });

  test('keeps explicit values', () => {
    const spec = parseStandaloneFile(file(`  vip: 192.0.2.10
  dataPlane: xdp
  scheduler: maglev
  xdp: {attach: tc}
  ports: [{name: dns, port: 53, targetPort: 5353, protocol: UDP}, {name: web, port: 80}]
  backends: {addresses: [{ip: 10.0.1.1}]}
`), 'plb.yaml');
    expect(spec.attach).toBe('tc');
    expect(spec.ports).toEqual([
      { name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' },
      { name: 'web', port: 80, targetPort: 80, protocol: 'TCP' },
    ]);
  });

  test.each([
    ['a missing vip', minimal.replace('  vip: 192.0.2.10\n', ''), 'spec.vip: is required'],
    ['an IPv6 vip not in canonical form', minimal6.replace('2001:db8::10', '2001:DB8:0::10'), 'spec.vip: must be written in canonical form: 2001:db8::10'],
    ['a link-local IPv6 vip', minimal6.replace('2001:db8::10', 'fe80::10'), 'spec.vip: must be a routable unicast address'],
    ['an IPv4 backend of an IPv6 vip', minimal6.replace("'2001:db8:1::1'", '10.0.1.1'), 'spec.backends.addresses[0].ip: "10.0.1.1" is not an IPv6 address (the VIP is IPv6)'],
    ['an IPv6 backend of an IPv4 vip', minimal.replace('10.0.1.1', "'2001:db8:1::1'"), 'spec.backends.addresses[0].ip: "2001:db8:1::1" is not an IPv4 address (the VIP is IPv4)'],
    ['a vip with a prefix', minimal.replace('192.0.2.10', '192.0.2.10/32'), 'spec.vip: "192.0.2.10/32" is not an IPv4 or IPv6 address literal'],
    ['a broadcast-looking vip', minimal.replace('192.0.2.10', '192.0.2.255'), 'spec.vip: must not end in .0 or .255'],
    ['no ports', minimal.replace('[{port: 80}]', '[]'), 'spec.ports: must list 1 to 32 ports'],
    ['port 0', minimal.replace('{port: 80}', '{port: 0}'), 'spec.ports[0].port: must be an integer'],
    ['a named targetPort', minimal.replace('{port: 80}', '{port: 80, targetPort: http}'), 'spec.ports[0].targetPort: static backends need a numeric targetPort'],
    ['SCTP', minimal.replace('{port: 80}', '{port: 80, protocol: SCTP}'), 'spec.ports[0].protocol: must be TCP or UDP'],
    ['a duplicate port', minimal.replace('[{port: 80}]', '[{name: a, port: 80}, {name: b, port: 80}]'), 'spec.ports[1]: duplicate (port, protocol) 80/TCP'],
    ['unnamed ports', minimal.replace('[{port: 80}]', '[{port: 80}, {port: 81}]'), 'spec.ports[0].name: every port needs a name'],
    ['a selector', minimal.replace('{addresses: [{ip: 10.0.1.1}, {ip: 10.0.1.2, weight: 3}]}', '{selector: {matchLabels: {app: web}}}'), 'spec.backends.selector: needs a cluster'],
    ['a bad backend ip', minimal.replace('ip: 10.0.1.1}', 'ip: 10.0.1}'), 'spec.backends.addresses[0].ip: "10.0.1" is not an IPv4'],
    ['a duplicate backend', minimal.replace('10.0.1.2', '10.0.1.1'), 'spec.backends.addresses[1].ip: 10.0.1.1 is listed twice'],
    ['weight 0', minimal.replace('weight: 3', 'weight: 0'), 'spec.backends.addresses[1].weight: must be an integer from 1 to 100'],
    ['weight 101', minimal.replace('weight: 3', 'weight: 101'), 'spec.backends.addresses[1].weight: must be an integer from 1 to 100'],
    ['dataPlane bogus', `${minimal}  dataPlane: bogus\n`, 'spec.dataPlane: must be one of xdp, ipvs, nftables'],
    ['nftables with maglev', `${minimal}  dataPlane: nftables\n  scheduler: maglev\n`, 'spec.scheduler: dataPlane nftables supports scheduler roundRobin, sourceHash'],
    ['scheduler roundRobin', `${minimal}  scheduler: roundRobin\n`, 'spec.scheduler: dataPlane xdp supports scheduler maglev only'],
    ['attach bogus', `${minimal}  xdp: {attach: bogus}\n`, 'spec.xdp.attach: must be one of auto, tc, native, generic'],
    ['overlay mode bogus', `${minimal}  overlay: {mode: geneve}\n`, 'spec.overlay.mode: must be one of none, host-gw, vxlan, udp, ipip, wireguard'],
    ['overlay mtu 575 (the CRD\'s minimum is 576)', `${minimal}  overlay: {mode: vxlan, mtu: 575}\n`, 'spec.overlay.mtu: must be an integer from 576 to 9216'],
    ['overlay mtu 9217', `${minimal}  overlay: {mtu: 9217}\n`, 'spec.overlay.mtu: must be an integer from 576 to 9216'],
    ['overlay mtu 1450.5', `${minimal}  overlay: {mtu: 1450.5}\n`, 'spec.overlay.mtu: must be an integer from 576 to 9216'],
    ['overlay not an object', `${minimal}  overlay: vxlan\n`, 'spec.overlay: must be an object with mode and optionally mtu'],
    ['maxFlows below 1024', `${minimal}  xdp: {maxFlows: 100}\n`, 'spec.xdp.maxFlows: must be an integer from 1024 to 16777216'],
    ['a UDP timeout of 0', `${minimal}  xdp: {flowTimeouts: {udpSeconds: 0}}\n`, 'spec.xdp.flowTimeouts.udpSeconds: must be an integer from 1 to 86400'],
    ['flowTimeouts not a mapping', `${minimal}  xdp: {flowTimeouts: 5}\n`, 'spec.xdp.flowTimeouts: must be a mapping'],
  ])('rejects %s, naming the field', (_name, spec, expected) => {
    expect(issues(file(spec)).join('\n')).toContain(expected);
  });

  test.each([
    ['the wrong kind', file(minimal, 'apiVersion: portablelb.io/v1alpha1\nkind: Service\n'), 'kind: must be PortableLoadBalancer'],
    ['the wrong apiVersion', file(minimal, 'apiVersion: v1\nkind: PortableLoadBalancer\n'), 'apiVersion: must be portablelb.io/v1alpha1'],
    ['an unusable name', file(minimal, 'apiVersion: portablelb.io/v1alpha1\nkind: PortableLoadBalancer\nmetadata: {name: Web_1}\n'), 'metadata.name: must be a lower-case DNS label'],
    ['broken YAML', 'spec: [', '(yaml): '],
    ['no spec', 'apiVersion: portablelb.io/v1alpha1\nkind: PortableLoadBalancer\n', 'spec: is required'],
  ])('rejects %s', (_name, text, expected) => {
    expect(issues(text).join('\n')).toContain(expected);
  });

  test('spec.xdp.maxFlows and flowTimeouts reach the data plane as given; absent, none (the data plane defaults them)', () => {
    const spec = parseStandaloneFile(file(`${minimal}  xdp: {maxFlows: 1000000, flowTimeouts: {tcpClosingSeconds: 5, udpSeconds: 10}}\n`), 'plb.yaml');
    expect(desiredState(spec, { interface: 'eth0', snatIp: '10.0.0.3' }).flows)
      .toEqual({ maxFlows: 1_000_000, tcpClosingSeconds: 5, udpSeconds: 10 });
    expect(desiredState(parseStandaloneFile(file(minimal), 'plb.yaml'), { interface: 'eth0', snatIp: '10.0.0.3' }).flows).toBeUndefined();
  });

  test('reports every problem at once, prefixed with the file name', () => {
    const text = file(minimal.replace('192.0.2.10', 'x').replace('weight: 3', 'weight: 0'));
    expect(() => parseStandaloneFile(text, '/etc/plb.yaml')).toThrow(
      /^\/etc\/plb\.yaml: spec\.vip: .*; spec\.backends\.addresses\[1\]\.weight: /,
    );
  });

  test('metadata.name defaults to "default"', () => {
    expect(parseStandaloneFile(file(minimal, 'apiVersion: portablelb.io/v1alpha1\nkind: PortableLoadBalancer\n'), 'f').name).toBe('default');
  });
});

describe('desiredState', () => {
  test.each([
    ['no overlay: MSS options left alone', '', undefined],
    ['overlay none: left alone', '  overlay: {mode: none}\n', undefined],
    ['vxlan: 1450 - 40', '  overlay: {mode: vxlan}\n', 1410],
    ['wireguard: 1440 - 40', '  overlay: {mode: wireguard}\n', 1400],
    ['an explicit mtu overrides the mode', '  overlay: {mode: vxlan, mtu: 1400}\n', 1360],
    ['an mtu without a mode', '  overlay: {mtu: 9000}\n', 8960],
  ])('tcpMssClamp with %s', (_name, overlay, mss) => {
    const spec = parseStandaloneFile(file(`${minimal}${overlay}`), 'plb.yaml');
    expect(desiredState(spec, { interface: 'eth0', snatIp: '10.0.0.3' }).tcpMssClamp).toBe(mss);
  });

  test.each([
    ['vxlan: 1450 - 60', '  overlay: {mode: vxlan}\n', 1390],
    ['an explicit mtu of 1280 (the IPv6 minimum)', '  overlay: {mtu: 1280}\n', 1220],
    ['no overlay: left alone', '', undefined],
  ])('tcpMssClamp of an IPv6 vip (60 bytes of IPv6 and TCP headers) with %s', (_name, overlay, mss) => {
    const spec = parseStandaloneFile(file(`${minimal6}${overlay}`), 'plb.yaml');
    expect(desiredState(spec, { interface: 'eth0', snatIp: '2001:db8::3' }).tcpMssClamp).toBe(mss);
  });

  test('keeps spec.overlay as given', () => {
    expect(parseStandaloneFile(file(`${minimal}  overlay: {mode: vxlan, mtu: 1400}\n`), 'plb.yaml').overlay).toEqual({ mode: 'vxlan', mtu: 1400 });
  });

  test('adds the interface and SNAT address of where the agent runs', () => {
    const spec = parseStandaloneFile(file(minimal), 'plb.yaml');
    expect(desiredState(spec, { interface: 'eth0', snatIp: '10.0.0.3' })).toEqual({
      vip: '192.0.2.10', ports: spec.ports, backends: spec.backends, scheduler: 'maglev', attach: 'auto',
      interface: 'eth0', snatIp: '10.0.0.3', drainSeconds: 10,
    });
  });
});
