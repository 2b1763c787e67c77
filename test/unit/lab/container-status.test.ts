// The stand-in kubelet's container statuses: what the operator's restart grace reads (liveness.ts). Table-driven.
import { describe, expect, it } from '@jest/globals';
import type { V1ContainerStatus } from '@kubernetes/client-node';
import { containerStatus, probeReadiness, termination, type ContainerView } from '../../lab/container-status.js';

const t0 = new Date('2026-12-07T15:00:00Z');
const t1 = new Date('2026-12-07T15:01:00Z');
const t2 = new Date('2026-12-07T15:01:01Z');
const t3 = new Date('2026-12-07T15:02:00Z');
const killed = termination(null, 'SIGKILL', t0, t1);
const killedAgain = termination(null, 'SIGKILL', t2, t3);
const base: ContainerView = { image: 'portable-lb:dev', running: true, startedAt: t0, ready: true, restartCount: 0, terminations: [] };

describe('termination', () => {
  it.each<[string, number | null, NodeJS.Signals | null, { exitCode: number; signal?: number; reason: string }]>([
    ['a SIGKILL is exit code 137, signal 9, Error', null, 'SIGKILL', { exitCode: 137, signal: 9, reason: 'Error' }],
    ['a SIGTERM is exit code 143, signal 15', null, 'SIGTERM', { exitCode: 143, signal: 15, reason: 'Error' }],
    ['exit code 1 is Error, no signal', 1, null, { exitCode: 1, reason: 'Error' }],
    ['exit code 0 is Completed', 0, null, { exitCode: 0, reason: 'Completed' }],
  ])('%s', (_name, code, signal, want) => {
    expect(termination(code, signal, t0, t1)).toEqual({ ...want, startedAt: t0, finishedAt: t1 });
  });
});

describe('containerStatus', () => {
  it.each<[string, ContainerView, Partial<V1ContainerStatus>]>([
    ['before its first start: waiting, not ready', { ...base, running: false, ready: false },
      { ready: false, started: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }],
    ['running and probed ready, never restarted: no lastState', base,
      { ready: true, started: true, restartCount: 0, state: { running: { startedAt: t0 } } }],
    ['just exited: terminated, not ready, no lastState yet', { ...base, running: false, ready: true, terminations: [killed] },
      { ready: false, started: false, restartCount: 0, state: { terminated: killed } }],
    ['restarted, its probe not passed yet: running, not ready, lastState its exit', { ...base, startedAt: t2, ready: false, restartCount: 1, terminations: [killed] },
      { ready: false, started: true, restartCount: 1, state: { running: { startedAt: t2 } }, lastState: { terminated: killed } }],
    ['exited a second time: terminated by the last exit, lastState the one before', { ...base, running: false, restartCount: 1, terminations: [killed, killedAgain] },
      { ready: false, started: false, restartCount: 1, state: { terminated: killedAgain }, lastState: { terminated: killed } }],
    ['restarted a second time: lastState the last exit', { ...base, startedAt: t3, restartCount: 2, terminations: [killed, killedAgain] },
      { ready: true, started: true, restartCount: 2, state: { running: { startedAt: t3 } }, lastState: { terminated: killedAgain } }],
  ])('%s', (_name, view, want) => {
    expect(containerStatus('agent', view)).toEqual({ name: 'agent', image: 'portable-lb:dev', imageID: '', ...want });
  });
});

describe('probeReadiness', () => {
  it.each<[string, boolean, boolean, { same: boolean; dead: boolean }, boolean | undefined]>([
    ['a passing probe makes a not-ready container ready', true, false, { same: true, dead: false }, true],
    ['a failing probe of a running process makes it not ready (a wedged agent)', false, true, { same: true, dead: false }, false],
    ['an answer equal to the readiness changes nothing', true, true, { same: true, dead: false }, undefined],
    ['a probe of a process that was replaced meanwhile says nothing', false, true, { same: false, dead: false }, undefined],
    ['a failing probe of a process that died and is not reaped yet says nothing: its exit writes the pod not Ready', false, true, { same: true, dead: true }, undefined],
  ])('%s', (_name, ok, ready, process, want) => {
    expect(probeReadiness(ok, ready, process)).toBe(want);
  });
});
