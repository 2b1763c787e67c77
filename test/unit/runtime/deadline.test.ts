import { describe, expect, it } from '@jest/globals';
import { RequestContext, ResponseContext, HttpMethod, Observable, type HttpLibrary } from '@kubernetes/client-node';
import { BoundedHttpLibrary, DeadlineExceeded, signalOptions, withDeadline } from '../../../src/runtime/deadline.js';
import { runCommand } from '../../../src/runtime/command.js';
import { FakeClock, settle } from '../support/fake-clock.js';

const fake = (clock: FakeClock) => ({ setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms), clearTimeout: (h: unknown) => clock.clearTimeout(h) });

describe('withDeadline', () => {
  it('returns what the step returns when it finishes in time', async () => {
    await expect(withDeadline('step', 1000, async () => 42)).resolves.toBe(42);
  });

  it('frees the caller at the deadline even when the step ignores its signal, naming what timed out', async () => {
    const clock = new FakeClock();
    let aborted: unknown;
    const result = withDeadline('PATCH /apis/apps/v1/deployments', 5000, (signal) => {
      signal.addEventListener('abort', () => (aborted = signal.reason));
      return new Promise<never>(() => undefined);
    }, fake(clock));
    let outcome: unknown;
    result.catch((e: unknown) => (outcome = e));
    await clock.advance(4999);
    expect(outcome).toBeUndefined();
    await clock.advance(1);
    expect(outcome).toBeInstanceOf(DeadlineExceeded);
    expect((outcome as Error).message).toBe('PATCH /apis/apps/v1/deployments: no answer within 5 s');
    expect(aborted).toBe(outcome);
  });

  it('passes a step failure through unchanged', async () => {
    await expect(withDeadline('step', 1000, async () => { throw new Error('409 conflict'); })).rejects.toThrow('409 conflict');
  });

  it('is cancelled by an outer signal, with its reason', async () => {
    const outer = new AbortController();
    const p = withDeadline('write', 60_000, () => new Promise<never>(() => undefined), { signal: outer.signal });
    outer.abort(new Error('leadership lost'));
    await expect(p).rejects.toThrow('leadership lost');
    await expect(withDeadline('write', 60_000, async () => 1, { signal: outer.signal })).rejects.toThrow('leadership lost');
  });
});

/** An HTTP library whose response headers arrive at once and whose body never ends, like a frozen connection. */
class HangingBody implements HttpLibrary {
  signal: AbortSignal | undefined;
  send(request: RequestContext): Observable<ResponseContext> {
    this.signal = request.getSignal();
    const body = { text: () => new Promise<string>(() => undefined), binary: () => new Promise<Buffer>(() => undefined) };
    return new Observable(Promise.resolve(new ResponseContext(200, {}, body)));
  }
}

describe('BoundedHttpLibrary', () => {
  it('bounds the whole request, body included, and aborts the fetch', async () => {
    const inner = new HangingBody();
    const lib = new BoundedHttpLibrary(50, undefined, inner);
    const req = new RequestContext('https://127.0.0.1:6443/api/v1/namespaces/shop/pods?limit=500', HttpMethod.GET);
    await expect(lib.send(req).toPromise()).rejects.toThrow('GET /api/v1/namespaces/shop/pods: no answer within 50 ms');
    expect(inner.signal?.aborted).toBe(true);
  });

  it('hands the body on when it arrives in time', async () => {
    const inner: HttpLibrary = {
      send: () => new Observable(Promise.resolve(new ResponseContext(200, {}, { text: async () => '{"a":1}', binary: async () => Buffer.from('{"a":1}') }))),
    };
    const res = await new BoundedHttpLibrary(1000, undefined, inner).send(new RequestContext('https://x/y', HttpMethod.GET)).toPromise();
    expect(await res.body.text()).toBe('{"a":1}');
  });

  it('honours a per-call signal set by signalOptions, and the client-wide one', async () => {
    const perCall = new AbortController();
    const inner = new HangingBody();
    const req = new RequestContext('https://x/apis/coordination.k8s.io/v1/leases', HttpMethod.PUT);
    const options = signalOptions(perCall.signal)!;
    const pre = await options.middleware![0]!.pre(req).toPromise();
    const sent = new BoundedHttpLibrary(60_000, undefined, inner).send(pre).toPromise();
    perCall.abort(new Error('renew deadline passed'));
    await expect(sent).rejects.toThrow('renew deadline passed');
    const clientWide = new AbortController();
    clientWide.abort(new Error('leadership lost'));
    await expect(new BoundedHttpLibrary(60_000, clientWide.signal, new HangingBody()).send(new RequestContext('https://x/y', HttpMethod.PATCH)).toPromise())
      .rejects.toThrow('leadership lost');
  });
});

describe('runCommand', () => {
  it('returns stdout and feeds stdin', async () => {
    await expect(runCommand('cat', [], { input: 'flush ruleset\n' })).resolves.toEqual({ stdout: 'flush ruleset\n', stderr: '' });
  });

  it('kills a command that outlives its deadline and says which', async () => {
    const started = Date.now();
    await expect(runCommand('sleep', ['30'], { timeoutMs: 200 })).rejects.toThrow('sleep 30: no answer within 200 ms');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('reports a failure with its exit code and stderr, and a missing command as ENOENT', async () => {
    await expect(runCommand('sh', ['-c', 'echo no such table >&2; exit 3'])).rejects.toMatchObject({ code: 3, stderr: 'no such table\n' });
    await expect(runCommand('plb-no-such-command', [])).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

it('settle helper keeps the fake clock usable here', async () => {
  await settle();
});
