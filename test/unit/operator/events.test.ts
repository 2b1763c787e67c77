import { describe, expect, it } from '@jest/globals';
import type { Condition } from '../../../src/api/conditions.js';
import { transitionEvents } from '../../../src/operator/events.js';

const c = (type: string, status: Condition['status'], reason: string): Condition => ({ type, status, reason, message: 'm', lastTransitionTime: 't' });

describe('transitionEvents', () => {
  it.each([
    { name: 'a new object waiting for replicas is not news', before: undefined, after: [c('Ready', 'False', 'WaitingForReplicas')], want: [] },
    { name: 'becoming Ready is a Normal event', before: [c('Ready', 'False', 'WaitingForReplicas')], after: [c('Ready', 'True', 'AllReplicasProgrammed')], want: [['Normal', 'AllReplicasProgrammed']] },
    { name: 'losing Ready is a Warning', before: [c('Ready', 'True', 'AllReplicasProgrammed')], after: [c('Ready', 'False', 'KernelFeatureMissing')], want: [['Warning', 'KernelFeatureMissing']] },
    { name: 'Degraded turning True is a Warning, even at creation', before: undefined, after: [c('Degraded', 'True', 'OverlayUnsuitable')], want: [['Warning', 'OverlayUnsuitable']] },
    { name: 'Degraded recovering is Normal', before: [c('Degraded', 'True', 'X')], after: [c('Degraded', 'False', 'AsExpected')], want: [['Normal', 'AsExpected']] },
    { name: 'a reason change at the same status is news', before: [c('Ready', 'False', 'NoMatchingPods')], after: [c('Ready', 'False', 'NoReadyBackends')], want: [['Warning', 'NoReadyBackends']] },
    { name: 'an unchanged condition is not', before: [c('Ready', 'True', 'A')], after: [c('Ready', 'True', 'A')], want: [] },
    { name: 'a refused VIP is news from the first pass (a Warning)', before: undefined, after: [c('VIPAssigned', 'False', 'VIPConflict')], want: [['Warning', 'VIPConflict']] },
    { name: 'a refused template is news from the first pass', before: undefined, after: [c('Accepted', 'False', 'TemplateNotAllowed')], want: [['Warning', 'TemplateNotAllowed']] },
    { name: 'an allocated VIP is a Normal event', before: undefined, after: [c('VIPAssigned', 'True', 'Allocated')], want: [['Normal', 'Allocated']] },
    { name: 'being placed by a class as expected is not news', before: undefined, after: [c('Accepted', 'True', 'ClassResolved')], want: [] },
  ])('$name', ({ before, after, want }) => {
    expect(transitionEvents(before, after).map((e) => [e.type, e.reason])).toEqual(want);
  });
});
