import { describe, expect, it } from '@jest/globals';
import { decideAnnouncement, type AnnounceInput } from '../../../../src/agent/bgp/announce.js';

const ok: AnnounceInput = { draining: false, programmed: true, heldGeneration: 3, wantedGeneration: 3, backends: 2 };

describe('decideAnnouncement', () => {
  it.each<[string, Partial<AnnounceInput>, boolean, string]>([
    ['announces when the kernel holds the current generation and a backend is ready', {}, true, 'Programmed'],
    ['announces with a single backend', { backends: 1 }, true, 'Programmed'],
    ['withdraws when no backend is ready', { backends: 0 }, false, 'NoReadyBackends'],
    ['withdraws first when the pod drains, whatever else holds', { draining: true }, false, 'Draining'],
    ['withdraws when draining even without backends', { draining: true, backends: 0 }, false, 'Draining'],
    ['withdraws when the last apply failed', { programmed: false }, false, 'ProgrammingFailed'],
    ['does not announce before anything was programmed', { programmed: false, heldGeneration: undefined }, false, 'NotProgrammed'],
    ['withdraws when the kernel holds an older generation', { heldGeneration: 2 }, false, 'StaleGeneration'],
    ['announces a pod whose generation is unknown (standalone: no generations)', { heldGeneration: undefined, wantedGeneration: undefined }, true, 'Programmed'],
    ['a failed apply of a newer generation withdraws', { programmed: false, heldGeneration: 2, wantedGeneration: 3 }, false, 'ProgrammingFailed'],
  ])('%s', (_name, change, announce, reason) => {
    const d = decideAnnouncement({ ...ok, ...change });
    expect([d.announce, d.reason]).toEqual([announce, reason]);
    expect(d.message.length).toBeGreaterThan(0);
  });

  it('is idempotent: the same input gives the same decision', () => {
    expect(decideAnnouncement(ok)).toEqual(decideAnnouncement({ ...ok }));
  });
});
