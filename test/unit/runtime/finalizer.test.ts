import { describe, expect, it } from '@jest/globals';
import { finalizerStep, handleResourceFinalizer } from '../../../src/runtime/finalizer.js';
import type { JsonPatchOp } from '../../../src/runtime/json-patch.js';

const F = 'portablelb.io/cleanup';
const obj = (finalizers?: string[], deleting = false) => ({
  metadata: { name: 'x', ...(finalizers ? { finalizers } : {}), ...(deleting ? { deletionTimestamp: new Date() } : {}) },
});

describe('finalizerStep', () => {
  it.each([
    { name: 'adds to a live object without finalizers', o: obj(), want: { action: 'add', patch: [{ op: 'add', path: '/metadata/finalizers', value: [F] }] } },
    {
      name: "adds beside another controller's finalizer, guarded by a test of the current list",
      o: obj(['other']),
      want: { action: 'add', patch: [{ op: 'test', path: '/metadata/finalizers', value: ['other'] }, { op: 'replace', path: '/metadata/finalizers', value: ['other', F] }] },
    },
    { name: 'does nothing when already present on a live object', o: obj([F]), want: { action: 'none' } },
    { name: 'asks for cleanup on a deleting object that carries it', o: obj([F], true), want: { action: 'cleanup' } },
    { name: 'does nothing on a deleting object without it', o: obj(['other'], true), want: { action: 'none' } },
  ])('$name', ({ o, want }) => {
    expect(finalizerStep(o, F, false)).toEqual(want);
  });
});

describe('handleResourceFinalizer', () => {
  it('cleans up, then removes only its own finalizer, and tells the caller to stop', async () => {
    const patches: JsonPatchOp[][] = [];
    const order: string[] = [];
    const stop = await handleResourceFinalizer(
      obj(['other', F], true),
      F,
      async (p) => void (patches.push(p), order.push('patch')),
      async () => void order.push('cleanup'),
    );
    expect(stop).toBe(true);
    expect(order).toEqual(['cleanup', 'patch']);
    expect(patches[0]).toEqual([
      { op: 'test', path: '/metadata/finalizers', value: ['other', F] },
      { op: 'replace', path: '/metadata/finalizers', value: ['other'] },
    ]);
  });

  it('keeps the finalizer when cleanup fails, so deletion waits for a retry', async () => {
    const patches: JsonPatchOp[][] = [];
    await expect(
      handleResourceFinalizer(obj([F], true), F, async (p) => void patches.push(p), async () => {
        throw new Error('busy');
      }),
    ).rejects.toThrow('busy');
    expect(patches).toEqual([]);
  });
});
