// What the lab's stand-in kubelet (kubelet.ts) reports of one container in status.containerStatuses, as a kubelet
// does: pure, so the mapping is unit-tested (test/unit/lab/container-status.test.ts).
import { constants } from 'node:os';
import type { V1ContainerStateTerminated, V1ContainerStatus } from '@kubernetes/client-node';

/** One container as the kubelet tracks it. */
export interface ContainerView {
  image: string;
  /** Its process runs (false between an exit and the restart). */
  running: boolean;
  startedAt: Date;
  /** Its readiness probe passed since it last started (or it has none). */
  ready: boolean;
  restartCount: number;
  /** Its terminations, the last one last (two are enough: state and lastState). */
  terminations: readonly V1ContainerStateTerminated[];
}

/** A process's end as a kubelet reports it: a signal's death is exit code 128 + the signal's number, reason Error. */
export function termination(code: number | null, signal: NodeJS.Signals | null, startedAt: Date, finishedAt: Date): V1ContainerStateTerminated {
  const signo = signal ? constants.signals[signal] : undefined;
  const exitCode = code ?? 128 + (signo ?? 0);
  return { exitCode, ...(signo !== undefined ? { signal: signo } : {}), reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt };
}

/**
 * The container's status: running since its start (lastState: its previous termination), or terminated by its last
 * exit until the restart (lastState: the one before), or waiting before its first start. Ready only while running.
 */
export function containerStatus(name: string, c: ContainerView): V1ContainerStatus {
  const last = c.terminations.at(-1);
  const previous = c.terminations.length >= 2 ? c.terminations.at(-2) : undefined;
  const lastState = c.running ? last : previous;
  return {
    name, image: c.image, imageID: '', ready: c.running && c.ready, restartCount: c.restartCount, started: c.running,
    state: c.running ? { running: { startedAt: c.startedAt } } : last ? { terminated: last } : { waiting: { reason: 'ContainerCreating' } },
    ...(lastState ? { lastState: { terminated: lastState } } : {}),
  };
}

/**
 * What a readiness probe's answer makes of a container's readiness: the new value, or undefined for no change. A
 * probe says nothing of a process that exited while it ran (a successor may run by now), nor of one that died
 * and is not reaped yet: its exit (the kubelet's exit handler) writes the container terminated and the pod not
 * Ready together, as a kubelet reports the exit it sees. Flipping Ready on that probe first wrote a not-Ready pod
 * whose container still ran, and the operator, seeing no exit, marked the LB pod's entry PodNotReady at once
 * instead of giving it the restart grace.
 */
export function probeReadiness(ok: boolean, ready: boolean, process: { same: boolean; dead: boolean }): boolean | undefined {
  if (ok === ready || !process.same || (!ok && process.dead)) return undefined;
  return ok;
}
