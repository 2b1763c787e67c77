import { describe, expect, test } from '@jest/globals';
import { UsageError, parseArgs } from '../../../src/agent/cli.js';

describe('parseArgs', () => {
  test('run --file with defaults', () => {
    expect(parseArgs(['run', '--file', 'plb.yaml'])).toEqual({
      file: 'plb.yaml', listenHost: '0.0.0.0', listenPort: 9470, detachOnExit: false,
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
