// metav1.Condition semantics in one place (kubernetes apimachinery pkg/api/meta/conditions.go):
// lastTransitionTime moves only when status flips; reason, message and observedGeneration always follow.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/** What a computation decides about one condition; the helper adds the bookkeeping. */
export type ConditionInput = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

const reasonPattern = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Returns a new list with `input` set: an existing condition of that type keeps its lastTransitionTime unless
 * its status changes. Order of the other conditions is kept; a new type is appended.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  generation: number,
  now: Date,
): Condition[] {
  if (!reasonPattern.test(input.reason)) throw new Error(`condition reason must be a CamelCase token: ${input.reason}`);
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === input.type);
  const previous = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    observedGeneration: generation,
    lastTransitionTime:
      previous && previous.status === input.status ? previous.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

/** Sets every input in order; see setCondition. */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  generation: number,
  now: Date,
): Condition[] {
  return inputs.reduce<Condition[]>((list, input) => setCondition(list, input, generation, now), [...(conditions ?? [])]);
}
