// What systemd's `Restart=` does for a real node's daemons, for the length of `up`. A kubelet exits at start for
// reasons that pass on their own: "Failed to start ContainerManager: failed to get rootfs info: unable to find data
// in memory cache" is cAdvisor's first stats pass not done yet on a loaded machine (kubernetes#71704), and a node
// whose kubelet exited once stayed NotReady until `up` timed out 180 s later (CI, plbe2e-n1). kubeadm's unit
// restarts it; so does this, a bounded number of times, and prints why it exited each time. After `up` nothing is
// restarted: the e2e suite kills daemons on purpose (node death) and must see them stay dead.

/** Restarts allowed per daemon during `up`; the next exit fails `up` with the daemon's log. */
export const MAX_RESTARTS = 3;

export interface Exited {
  /** `<host>/<name>`, e.g. "plbe2e-n1/kubelet". */
  key: string;
  /** How often it was restarted already. */
  restarts: number;
}

export interface RestartDecision {
  restart: string[];
  /** Exited again after MAX_RESTARTS restarts: `up` fails. */
  exhausted: string[];
}

export function restartDecision(exited: Exited[], max = MAX_RESTARTS): RestartDecision {
  return {
    restart: exited.filter((e) => e.restarts < max).map((e) => e.key),
    exhausted: exited.filter((e) => e.restarts >= max).map((e) => e.key),
  };
}
