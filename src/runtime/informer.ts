// watchResource: @dot-i/k8s-operator's API shape on client-node 1.4's ListWatch, without its faults.
// client-node's informer stops for good after a network error, and a watch that cannot reconnect rejects a
// promise nobody awaits; here every error restarts the informer with jittered backoff, 410 relists (ListWatch
// does that itself), a watch on a silently dead connection is aborted (see ReportingWatch), and lifecycle events
// are reported for metrics and logs.
import { KubeConfig, ListWatch, Watch, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { backoffDelay, systemClock, type BackoffOptions, type Clock } from './clock.js';

export type ResourceEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface ResourceEvent<T extends KubernetesObject> {
  type: ResourceEventType;
  object: T;
}

export type WatchLifecycle = 'connect' | 'synced' | 'error' | 'restart';

export interface WatchOptions<T extends KubernetesObject> {
  /** API path to list and watch, e.g. /apis/apps/v1/deployments. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  fieldSelector?: string;
  backoff?: BackoffOptions;
  clock?: Clock;
  onLifecycle?: (event: WatchLifecycle, error?: unknown) => void;
  liveness?: WatchLiveness;
  /**
   * Applied to every watched object before it is cached or handed on (keep only what is read); the list
   * function must apply it to its items itself (it may do so page by page).
   */
  transform?: (obj: T) => T;
}

export interface WatchedResource<T extends KubernetesObject> extends ObjectCache<T> {
  /** True once the first list has arrived. */
  readonly synced: boolean;
  stop(): Promise<void>;
}

/** How long a watch may live, and how long past that the client waits before calling the connection dead. */
export interface WatchLiveness {
  /** Server-side timeoutSeconds of each watch request; client-go picks 5–10 min at random, so do we. */
  timeoutSeconds: () => number;
  /** Silence allowed past timeoutSeconds before the request is aborted as stalled. */
  graceMs: number;
}

const DEFAULT_LIVENESS: WatchLiveness = { timeoutSeconds: () => 300 + Math.floor(Math.random() * 300), graceMs: 30_000 };

/**
 * A Watch that (1) ends failures to (re)connect in the done callback instead of an unhandled rejection, and
 * (2) never waits forever on a half-open connection: every request asks the server to end it after
 * timeoutSeconds (and to send bookmarks, so a relist is rarely needed); a request still open
 * timeoutSeconds + grace later has lost its peer without a FIN or RST (a NAT or node that vanished), so it is
 * aborted with an error and the informer restarts. TCP keep-alive alone would take minutes more.
 */
class ReportingWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly liveness: WatchLiveness,
    private readonly clock: Clock,
    private readonly transform?: (obj: any) => any,
  ) {
    super(kc);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    const timeoutSeconds = this.liveness.timeoutSeconds();
    let finished = false;
    let controller: AbortController | undefined;
    const finish = (err: unknown): void => {
      if (finished) return;
      finished = true;
      this.clock.clearTimeout(deadline);
      done(err);
    };
    const limitMs = timeoutSeconds * 1000 + this.liveness.graceMs;
    const deadline = this.clock.setTimeout(() => {
      // Report first: aborting makes the response body fail with a generic AbortError of its own.
      finish(new Error(`watch of ${path} still open ${Math.round(limitMs / 1000)}s after asking the server to end it at ${timeoutSeconds}s: connection presumed dead`));
      controller?.abort();
    }, limitMs);
    try {
      const t = this.transform;
      const cb = t ? (phase: string, obj: any, w?: any) => callback(phase, OBJECT_EVENTS.has(phase) ? t(obj) : obj, w) : callback;
      controller = await super.watch(path, { ...queryParams, timeoutSeconds, allowWatchBookmarks: true }, cb, finish);
      // The deadline fired while the request was still waiting for response headers.
      if (finished) controller.abort();
      return controller;
    } catch (error) {
      setImmediate(() => finish(error));
      return new AbortController();
    }
  }
}

const OBJECT_EVENTS = new Set(['ADDED', 'MODIFIED', 'DELETED']);
const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, jitter: 0.2 };

export function watchResource<T extends KubernetesObject>(
  kc: KubeConfig,
  options: WatchOptions<T>,
  onEvent: (event: ResourceEvent<T>) => void,
): WatchedResource<T> {
  const clock = options.clock ?? systemClock;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const lw = new ListWatch<T>(options.path, new ReportingWatch(kc, options.liveness ?? DEFAULT_LIVENESS, clock, options.transform as ((obj: unknown) => unknown) | undefined), options.list, false, options.labelSelector, options.fieldSelector);
  let synced = false;
  let stopped = false;
  let attempt = 0;
  let timer: unknown;
  let errors = 0;

  lw.on('add', (object) => onEvent({ type: 'ADDED', object }));
  lw.on('update', (object) => onEvent({ type: 'MODIFIED', object }));
  lw.on('delete', (object) => onEvent({ type: 'DELETED', object }));
  lw.on('connect', () => options.onLifecycle?.('connect'));
  lw.on('error', (error) => {
    if (stopped) return; // stop() aborts the watch request; that is not a failure
    errors++;
    options.onLifecycle?.('error', error);
    scheduleRestart();
  });

  function scheduleRestart(): void {
    if (stopped || timer !== undefined) return;
    attempt++;
    timer = clock.setTimeout(() => {
      timer = undefined;
      options.onLifecycle?.('restart');
      void begin();
    }, backoffDelay(attempt, backoff));
  }

  async function begin(): Promise<void> {
    const errorsBefore = errors;
    try {
      // ListWatch reports a failed list through its error callbacks and still resolves start().
      await lw.start();
      if (errors !== errorsBefore) return;
      attempt = 0;
      if (!synced) {
        synced = true;
        options.onLifecycle?.('synced');
      }
    } catch (error) {
      options.onLifecycle?.('error', error);
      scheduleRestart();
    }
  }
  void begin();

  return {
    get synced() {
      return synced;
    },
    get: (name, namespace) => lw.get(name, namespace),
    list: (namespace) => lw.list(namespace),
    async stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      await lw.stop();
    },
  };
}
