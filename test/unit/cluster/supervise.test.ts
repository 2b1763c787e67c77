// hack/cluster restarts a daemon that exits during `up` (as systemd restarts a real node's kubelet), a bounded
// number of times: the decision per exited daemon.
import { describe, expect, test } from '@jest/globals';
import { MAX_RESTARTS, restartDecision, type Exited } from '../../../hack/cluster/supervise.js';

describe('restartDecision', () => {
  const n1 = (restarts: number): Exited => ({ key: 'c-n1/kubelet', restarts });
  const n2 = (restarts: number): Exited => ({ key: 'c-n2/containerd', restarts });
  test.each<[string, Exited[], string[], string[]]>([
    ['nothing exited', [], [], []],
    ['a first exit is restarted', [n1(0)], ['c-n1/kubelet'], []],
    ['the last allowed restart', [n1(MAX_RESTARTS - 1)], ['c-n1/kubelet'], []],
    ['one exit too many fails up', [n1(MAX_RESTARTS)], [], ['c-n1/kubelet']],
    ['each daemon has its own count', [n1(MAX_RESTARTS), n2(0)], ['c-n2/containerd'], ['c-n1/kubelet']],
  ])('%s', (_name, exited, restart, exhausted) => {
    expect(restartDecision(exited)).toEqual({ restart, exhausted });
  });

  test('the bound can be set: 0 restarts means the first exit fails up', () => {
    expect(restartDecision([n1(0)], 0)).toEqual({ restart: [], exhausted: ['c-n1/kubelet'] });
  });
});
