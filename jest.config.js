import { createDefaultEsmPreset } from 'ts-jest';

// One project per test tier (see ../shared/DESIGN.md "Test tiers"); `--selectProjects` runs one tier.
const preset = createDefaultEsmPreset({ tsconfig: 'tsconfig.json' });
const tier = (name, extra = {}) => ({
  ...preset,
  displayName: name,
  testEnvironment: 'node',
  roots: [`<rootDir>/test/${name}`],
  testMatch: ['**/*.test.ts'],
  // NodeNext sources import './x.js'; map back to ./x(.ts) for jest
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  ...extra,
});

/** @type {import('jest').Config} */
export default {
  projects: [
    tier('unit'),
    tier('integration'),
    tier('dataplane'),
    tier('lab'),
  ],
  // A global option: jest ignores testTimeout inside a `projects` entry. Real control planes and kernels are slow.
  testTimeout: 180_000,
};
