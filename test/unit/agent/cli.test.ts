import { describe, expect, test } from '@jest/globals';
import { UsageError, listenProblem, parseArgs } from '../../../src/agent/cli.js';

describe('parseArgs', () => {
  test('run --file with defaults: the endpoints on loopback only', () => {
    expect(parseArgs(['run', '--file', 'plb.yaml'])).toEqual({
      file: 'plb.yaml', listenHost: '127.0.0.1', listenPort: 9470, detachOnExit: false,
    });
  });

  test('all options', () => {
    expect(parseArgs(['run', '--file', 'f', '--interface', 'eth1', '--pin-dir', '/sys/fs/bpf/x', '--listen', '127.0.0.1:0', '--detach-on-exit']))
      .toEqual({ file: 'f', interface: 'eth1', pinDir: '/sys/fs/bpf/x', listenHost: '127.0.0.1', listenPort: 0, detachOnExit: true });
  });

  test.each([
    [[], /missing command/],
    [['serve'], /unknown command serve/],
    [['run'], /--file is required/],
    [['run', '--file'], /--file needs a value/],
    [['run', '--file', 'f', '--interface', '--listen', 'x'], /--interface needs a value/],
    [['run', '--file', 'f', '--listen', '9470'], /--listen must be host:port/],
    [['run', '--file', 'f', '--bogus'], /unknown option --bogus/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('listenProblem', () => {
  test.each<[string, string, string, 'error' | 'warning' | 'none']>([
    ['127.0.0.1', '192.0.2.10', 'ipvs', 'none'],
    ['10.0.0.5', '192.0.2.10', 'ipvs', 'none'],
    ['192.0.2.10', '192.0.2.10', 'xdp', 'error'], // the VIP itself, on any plane
    ['192.0.2.10', '192.0.2.10', 'ipvs', 'error'],
    ['[2001:db8::10]', '2001:db8::10', 'nftables', 'error'],
    ['0.0.0.0', '192.0.2.10', 'ipvs', 'warning'], // the VIP is local with ipvs: a wildcard answers on it
    ['::', '2001:db8::10', 'ipvs', 'warning'],
    ['0.0.0.0', '192.0.2.10', 'xdp', 'none'], // xdp and nftables do not make the VIP local
    ['0.0.0.0', '192.0.2.10', 'nftables', 'none'],
  ])('--listen %s, VIP %s, %s: %s', (host, vip, plane, want) => {
    const p = listenProblem(host, vip, plane);
    expect(p.error === undefined ? (p.warning === undefined ? 'none' : 'warning') : 'error').toBe(want);
    if (p.error) expect(p.error).toContain('VIP');
  });
});
