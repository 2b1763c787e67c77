import { describe, expect, it } from '@jest/globals';
import { parseDuration } from '../../../src/runtime/duration.js';

describe('parseDuration', () => {
  it.each([
    ['15s', 15_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['10', 10_000],
    ['0.5', 500],
  ])('%s is %d ms', (text, ms) => expect(parseDuration('x', text)).toBe(ms));

  it('names the flag and the bad value', () => {
    expect(() => parseDuration('request-timeout', '30 seconds')).toThrow('--request-timeout: "30 seconds" is not a duration (e.g. 30s, 500ms, 2m)');
    expect(() => parseDuration('request-timeout', '5x')).toThrow(/not a duration/);
  });
});
