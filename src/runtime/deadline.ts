// Deadlines for everything that waits on something else: a half-open TCP connection, an admission webhook that
// never answers or a wedged child process must cost a bounded time, then fail with an error that says what
// timed out. Every API call and child process in the operator and the agent goes through one of these:
//   withDeadline(what, ms, run)   any async step; the caller is freed at the deadline even if `run` ignores it
//   apiClient(kc, Api, ms)        a client-node API client whose every request is aborted at the deadline
//   runCommand(cmd, args, {...})  lives in ./command.ts (a child process killed at its deadline)
import {
  createConfiguration,
  Observable,
  type ConfigurationOptions,
  type ObservableMiddleware,
  ServerConfiguration,
  type Configuration,
  type HttpLibrary,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

/** A step did not finish in time. `what` names the step, so logs and conditions say what hung. */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what}: no answer within ${formatMs(ms)}`);
  }
}

export const isDeadlineExceeded = (error: unknown): error is DeadlineExceeded => error instanceof DeadlineExceeded;

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

export interface DeadlineOptions {
  /** An outer cancellation (e.g. the whole reconcile pass, or leadership lost): aborts `run` too. */
  signal?: AbortSignal;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

/**
 * Runs `run` with an AbortSignal that fires after `ms` (or when `options.signal` does), and settles no later
 * than that: a step that ignores its signal still frees its caller, which gets DeadlineExceeded (or the outer
 * signal's reason). The step's own late result is dropped.
 */
export function withDeadline<T>(what: string, ms: number, run: (signal: AbortSignal) => Promise<T>, options: DeadlineOptions = {}): Promise<T> {
  const set = options.setTimeout ?? ((fn, t) => setTimeout(fn, t));
  const clear = options.clearTimeout ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clear(timer);
      options.signal?.removeEventListener('abort', onOuterAbort);
      fn();
    };
    const abort = (reason: unknown) => {
      controller.abort(reason);
      finish(() => reject(reason));
    };
    const onOuterAbort = () => abort(options.signal?.reason ?? new Error(`${what}: cancelled`));
    const timer = set(() => abort(new DeadlineExceeded(what, ms)), ms);
    if (options.signal?.aborted) return onOuterAbort();
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    let started: Promise<T>;
    try {
      started = run(controller.signal);
    } catch (error) {
      return finish(() => reject(error));
    }
    started.then(
      (value) => finish(() => resolve(value)),
      (error) => finish(() => reject(error)),
    );
  });
}

/**
 * client-node's HTTP library with a deadline per request: the fetch (connection, headers and body) is aborted
 * after `ms`, and the request fails with DeadlineExceeded naming its method and path. `signal`, when given, is
 * an outer cancellation for every request of this client (e.g. leadership lost).
 */
export class BoundedHttpLibrary implements HttpLibrary {
  constructor(
    private readonly ms: number,
    private readonly signal?: AbortSignal,
    private readonly inner: HttpLibrary = createConfiguration().httpApi,
    private readonly userAgent?: string,
  ) {}

  send(request: RequestContext): Observable<ResponseContext> {
    if (this.userAgent) request.setHeaderParam('User-Agent', this.userAgent);
    const url = new URL(request.getUrl());
    const what = `${request.getHttpMethod()} ${url.pathname}`;
    const outer = [request.getSignal(), this.signal].filter((s): s is AbortSignal => s !== undefined);
    const response = withDeadline(
      what,
      this.ms,
      async (signal) => {
        request.setSignal(signal);
        const res = await this.inner.send(request).toPromise();
        // The body is read after send() resolves; read it here so the deadline covers it too.
        const body = await res.body.binary();
        return { res, body };
      },
      outer.length > 0 ? { signal: AbortSignal.any(outer) } : {},
    ).then(({ res, body }) => {
      res.body = { text: async () => body.toString('utf8'), binary: async () => body };
      return res;
    });
    return new Observable(response);
  }
}

export interface ApiClientOptions {
  /** Deadline of each request, headers and body included. */
  timeoutMs: number;
  /** Cancels every request of this client, e.g. when leadership is lost. */
  signal?: AbortSignal;
  /** Sent as User-Agent, so audit logs tell replicas apart (e.g. "portable-lb-operator (pod_pid)"). */
  userAgent?: string;
}

/** kc.makeApiClient(Api) with a deadline on every request (see BoundedHttpLibrary). */
export function apiClient<T>(kc: KubeConfig, api: new (config: Configuration) => T, options: ApiClientOptions): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no active cluster in the kubeconfig');
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration<Record<string, string>>(cluster.server, {}),
      authMethods: { default: kc },
      httpApi: new BoundedHttpLibrary(options.timeoutMs, options.signal, undefined, options.userAgent),
    }),
  );
}

/** Per-call options (client-node's ObjectParam API) that also abort the request when `signal` fires. */
export function signalOptions(signal: AbortSignal | undefined, opt?: ConfigurationOptions<ObservableMiddleware>): ConfigurationOptions<ObservableMiddleware> | undefined {
  if (!signal) return opt;
  const middleware: ObservableMiddleware = {
    pre: (request) => {
      const current = request.getSignal();
      request.setSignal(current ? AbortSignal.any([current, signal]) : signal);
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return { ...opt, middleware: [...(opt?.middleware ?? []), middleware], middlewareMergeStrategy: 'append' };
}
