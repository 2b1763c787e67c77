import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { chartMemoryLimitMiB, chartNodeOptions, maxOldSpaceMiB } from '../bench/control-plane/chart-values.js';

// jest runs from the repository root (as the other unit tests assume).
const values = readFileSync(join(process.cwd(), 'charts/portable-lb/values.yaml'), 'utf8');

describe('maxOldSpaceMiB', () => {
  test.each([
    { name: 'reads the flag with =', options: '--max-old-space-size=256', want: 256 },
    { name: 'reads it with a space and underscores', options: '--max_old_space_size 192', want: 192 },
    { name: 'takes the last of two, as Node does', options: '--max-old-space-size=512 --trace-gc --max-old-space-size=200', want: 200 },
    { name: 'is undefined without the flag', options: '--max-semi-space-size=4', want: undefined },
    { name: 'is undefined for empty options', options: '', want: undefined },
    { name: 'does not take a longer flag for it', options: '--max-old-space-size-percentage=50', want: undefined },
  ])('$name', ({ options, want }) => {
    expect(maxOldSpaceMiB(options)).toBe(want);
  });
});

describe('the chart values the bench runs the operator with', () => {
  test.each([
    { name: 'reads nodeOptions and the memory limit', yaml: 'nodeOptions: "--max-old-space-size=100"\nresources: {limits: {memory: 1Gi}}', options: '--max-old-space-size=100', limit: 1024 },
    { name: 'has empty options and no limit when neither is set', yaml: 'logLevel: info', options: '', limit: undefined },
  ])('$name', ({ yaml, options, limit }) => {
    expect(chartNodeOptions(yaml)).toBe(options);
    expect(chartMemoryLimitMiB(yaml)).toBe(limit);
  });

  test("bounds V8's old generation to at most three quarters of the container's memory limit", () => {
    const limit = chartMemoryLimitMiB(values);
    const heap = maxOldSpaceMiB(chartNodeOptions(values));
    expect(limit).toBeDefined();
    expect(heap).toBeDefined();
    expect(heap!).toBeLessThanOrEqual(0.75 * limit!);
  });
});
