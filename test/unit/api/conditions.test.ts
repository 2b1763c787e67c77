import { describe, expect, it } from '@jest/globals';
import { setCondition, setConditions, type Condition } from '../../../src/api/conditions.js';

const t0 = new Date('2026-11-26T10:00:00Z');
const t1 = new Date('2026-11-26T11:00:00Z');
const ready = (status: Condition['status'], reason: string, gen = 1, at = t0): Condition => ({
  type: 'Ready',
  status,
  reason,
  message: 'm',
  observedGeneration: gen,
  lastTransitionTime: at.toISOString().replace('.000Z', 'Z'),
});

describe('setCondition (metav1.Condition semantics)', () => {
  it.each([
    {
      name: 'a new condition gets the current time and the generation',
      before: [] as Condition[],
      input: { type: 'Ready', status: 'False' as const, reason: 'WaitingForReplicas', message: 'm' },
      gen: 1,
      want: [ready('False', 'WaitingForReplicas', 1, t1)],
    },
    {
      name: 'the same status keeps lastTransitionTime but takes the new reason and generation',
      before: [ready('False', 'WaitingForReplicas')],
      input: { type: 'Ready', status: 'False' as const, reason: 'NoMatchingPods', message: 'm' },
      gen: 2,
      want: [ready('False', 'NoMatchingPods', 2, t0)],
    },
    {
      name: 'a status flip moves lastTransitionTime',
      before: [ready('False', 'WaitingForReplicas')],
      input: { type: 'Ready', status: 'True' as const, reason: 'AllReplicasProgrammed', message: 'm' },
      gen: 1,
      want: [ready('True', 'AllReplicasProgrammed', 1, t1)],
    },
  ])('$name', ({ before, input, gen, want }) => {
    expect(setCondition(before, input, gen, t1)).toEqual(want);
  });

  it('does not modify the list it was given', () => {
    const before = [ready('False', 'WaitingForReplicas')];
    setCondition(before, { type: 'Ready', status: 'True', reason: 'AllReplicasProgrammed', message: '' }, 2, t1);
    expect(before).toEqual([ready('False', 'WaitingForReplicas')]);
  });

  it('rejects a reason that is not a CamelCase token, so a bad status is never written', () => {
    expect(() => setCondition([], { type: 'Ready', status: 'True', reason: 'not ok', message: '' }, 1, t1)).toThrow(
      /CamelCase/,
    );
  });

  it('keeps other conditions in place and appends new types', () => {
    const other: Condition = { ...ready('True', 'AsExpected'), type: 'Degraded' };
    const out = setConditions([other], [{ type: 'Ready', status: 'True', reason: 'X', message: '' }], 3, t1);
    expect(out.map((c) => c.type)).toEqual(['Degraded', 'Ready']);
    expect(out[0]?.observedGeneration).toBe(1);
  });
});
