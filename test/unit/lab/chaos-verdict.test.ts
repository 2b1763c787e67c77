// The lab's chaos rounds, judged from their numbers, and which pin directories belong to no pod. Table-driven.
import { describe, expect, it } from '@jest/globals';
import { judgeRound, leakedPins, repairsLogged, type Fault, type RoundNumbers } from '../../lab/chaos-verdict.js';

const calm: RoundNumbers = { attempts: 900, failedConnects: 0, brokenInFlight: 0, inFlightAllowed: 0, nextHopChanges: 0, converged: true };
const operator: RoundNumbers = { ...calm, leaseTakenMs: 16_400, roleRepaired: true, roleRepairs: 1 };
const apiServer: RoundNumbers = { ...calm, restartMs: 4_100 };
const agent: RoundNumbers = { ...calm, newPid: true, readyAgainMs: 2_300, stillAnnouncing: true, podReadyWentFalse: true, entrySamples: 40, entryNotReadySamples: 0 };

describe('judgeRound', () => {
  it.each<[string, Fault, RoundNumbers, string[]]>([
    ['an operator round as measured passes', 'operator', operator, []],
    ['a failed connect fails any round', 'operator', { ...operator, failedConnects: 1 }, ['1 failed connects']],
    ['no load at all fails', 'apiServer', { ...apiServer, attempts: 0 }, ['no load ran']],
    ['the operator is not on the data path: a next-hop change fails', 'operator', { ...operator, nextHopChanges: 1, inFlightAllowed: 4 }, ['1 next-hop changes']],
    ['a Lease never taken fails', 'operator', { ...operator, leaseTakenMs: undefined }, ['the new operator never took the Lease']],
    ['a Lease taken past 25 s fails', 'operator', { ...operator, leaseTakenMs: 25_001 }, ['Lease taken after 25001 ms (> 25000)']],
    ['a Role left edited fails', 'operator', { ...operator, roleRepaired: false }, ['the edited Role was not repaired']],
    ['one edit repaired twice fails (a pass judged the version its own write replaced)', 'operator', { ...operator, roleRepairs: 2 }, ['the edited Role was repaired 2 times (one edit: once)']],
    ['not converged fails', 'operator', { ...operator, converged: false }, ['did not converge']],
    ['an API server round as measured passes', 'apiServer', apiServer, []],
    ['the API server round allows next-hop changes and their in-flight breaks', 'apiServer', { ...apiServer, nextHopChanges: 1, inFlightAllowed: 4, brokenInFlight: 4 }, []],
    ['more in-flight breaks than allowed fail', 'apiServer', { ...apiServer, nextHopChanges: 1, inFlightAllowed: 4, brokenInFlight: 5 }, ['5 broke in flight (allowed 4)']],
    ['an API server that never served again fails', 'apiServer', { ...apiServer, restartMs: undefined }, ['the API server did not serve again']],
    ['an agent round as measured passes', 'agent', agent, []],
    ['the same PID (not restarted) fails', 'agent', { ...agent, newPid: false }, ['the container was not restarted (same or no PID)']],
    ['no /readyz 200 fails', 'agent', { ...agent, readyAgainMs: undefined }, ['/readyz never answered 200 again']],
    ['/readyz 200 only after 10 s fails', 'agent', { ...agent, readyAgainMs: 10_001 }, ['/readyz 200 after 10001 ms (> 10000)']],
    ['a pod that stopped announcing fails', 'agent', { ...agent, stillAnnouncing: false }, ['the pod no longer announces']],
    ['an entry not ready in one sample during the restart fails', 'agent', { ...agent, entryNotReadySamples: 1 }, ['the entry was not ready in 1 of 40 samples']],
    ['a pod whose Ready never went False did not exercise the grace: fails', 'agent', { ...agent, podReadyWentFalse: false }, ['the pod\'s Ready never went False (the restart grace was not exercised)']],
    ['an entry never sampled fails', 'agent', { ...agent, entrySamples: 0 }, ['the entry was not sampled']],
    ['an agent round the router noticed fails', 'agent', { ...agent, nextHopChanges: 2, inFlightAllowed: 8 }, ['2 next-hop changes']],
    ['each problem is named', 'agent', { ...agent, failedConnects: 3, newPid: false }, ['3 failed connects', 'the container was not restarted (same or no PID)']],
  ])('%s', (_name, fault, n, problems) => {
    const v = judgeRound(fault, n);
    expect(v.problems).toEqual(problems);
    expect(v.ok).toBe(problems.length === 0);
  });
});

describe('leakedPins', () => {
  const a = '0f6c1b2e-1111-4a4a-8b8b-000000000001';
  const b = '0f6c1b2e-2222-4a4a-8b8b-000000000002';
  const live = new Map([['shop/web-lb-7d9c-x2', a]]);
  it.each<[string, Array<{ namespace: string; pod: string; children: string[] }>, string[]]>([
    ['a live pod\'s own UID directory is not leaked', [{ namespace: 'shop', pod: 'web-lb-7d9c-x2', children: [a] }], []],
    ['a gone pod\'s directory is leaked', [{ namespace: 'shop', pod: 'web-lb-7d9c-q5', children: [b] }], ['shop/web-lb-7d9c-q5']],
    ['the same name in another namespace is another pod', [{ namespace: 'other', pod: 'web-lb-7d9c-x2', children: [a] }], ['other/web-lb-7d9c-x2']],
    ['an earlier pod of a reused name leaks its UID directory', [{ namespace: 'shop', pod: 'web-lb-7d9c-x2', children: [a, b] }], [`shop/web-lb-7d9c-x2/${b}`]],
    ['maps pinned by name (no UID layout) of a live pod stay', [{ namespace: 'shop', pod: 'web-lb-7d9c-x2', children: ['flows', 'backends'] }], []],
    ['an empty directory of a gone pod is leaked too', [{ namespace: 'shop', pod: 'web-lb-gone-1', children: [] }], ['shop/web-lb-gone-1']],
    ['nothing pinned, nothing leaked', [], []],
  ])('%s', (_name, dirs, leaked) => {
    expect(leakedPins(dirs, live)).toEqual(leaked);
  });
});

describe('repairsLogged', () => {
  const line = (time: string, child: string, msg = 'drift repaired') => JSON.stringify({ time, level: 'info', msg, component: 'operator', key: 'shop/web', child, reasons: ['rules: 2 item(s), want 3'] });
  const since = Date.parse('2026-12-07T17:42:00.000Z');
  it.each([
    ['one repair after the kill', [line('2026-12-07T17:42:34.030Z', 'Role shop/web-lb')], 1],
    ['two passes 13 ms apart (the lab on main)', [line('2026-12-07T17:42:59.033Z', 'Role shop/web-lb'), line('2026-12-07T17:42:59.046Z', 'Role shop/web-lb')], 2],
    ['a repair before the kill (an earlier round) is not counted', [line('2026-12-07T17:41:59.999Z', 'Role shop/web-lb')], 0],
    ['another child is not counted', [line('2026-12-07T17:42:34.030Z', 'Deployment shop/web-lb')], 0],
    ['other messages and a line cut by the SIGKILL are skipped', [line('2026-12-07T17:42:34.030Z', 'Role shop/web-lb', 'reconciled'), '{"time":"2026-12-07T17:42:35.000Z","msg":"drift rep'], 0],
  ])('%s', (_name, lines, want) => {
    expect(repairsLogged((lines as string[]).join('\n'), 'Role shop/web-lb', since)).toBe(want);
  });
});
