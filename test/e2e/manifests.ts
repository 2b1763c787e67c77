// The objects the e2e test applies, as YAML text for `kubectl apply -f -` (what a user does).

/** How long a backend keeps accepting after SIGTERM: the LB pods' agents drop a deleting pod from their backends. */
export const BACKEND_SHUTDOWN_DELAY_MS = 3000;

/**
 * Backends answering with their pod name, from the portable-lb image (already on the nodes: no registry pull).
 * On SIGTERM they shut down as a well-behaved service does: they keep accepting for BACKEND_SHUTDOWN_DELAY_MS
 * (connections the LB sent before its agents saw the pod deleting), then stop listening, finish the requests in
 * flight and exit, instead of waiting out the grace period as PID 1.
 */
export function backendManifest(image: string, replicas: number): string {
  const server = "const s=require('http').createServer((q,r)=>r.end(require('os').hostname()+'\\\\n')).listen(8080);" +
    `process.on('SIGTERM',()=>setTimeout(()=>s.close(()=>process.exit(0)),${BACKEND_SHUTDOWN_DELAY_MS}))`;
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ${image}
          imagePullPolicy: Never
          command: [node, -e, "${server}"]
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 2}
`;
}

export function plbManifest(vip: string, dataPlane: string, replicas: number): string {
  return `apiVersion: portablelb.io/v1alpha1
kind: PortableLoadBalancer
metadata: {name: web}
spec:
  vip: ${vip}
  ports: [{name: http, port: 80, targetPort: http}]
  backends: {selector: {matchLabels: {app: web}}}
  dataPlane: ${dataPlane}
  replicas: ${replicas}
`;
}

/** A tenant's namespace: under the chart's default class its LB pods run in the release namespace, not here. */
export function namespaceManifest(name: string): string {
  return `apiVersion: v1
kind: Namespace
metadata: {name: ${name}, labels: {${E2E_LABEL}: "true"}}
`;
}

/** On what the suite creates, so that a rerun on a kept cluster removes what an interrupted run left. */
export const E2E_LABEL = 'portablelb.io/e2e';

/** What the admin grants a tenant's namespace (README step 3): these VIPs, for it alone. */
export function poolManifest(name: string, namespace: string, addresses: string[]): string {
  return `apiVersion: portablelb.io/v1alpha1
kind: VIPPool
metadata: {name: ${name}, labels: {${E2E_LABEL}: "true"}}
spec:
  addresses: [${addresses.join(', ')}]
  namespaces: [${namespace}]
`;
}

/**
 * The admin's BGPPeer for a pod network whose router reaches the nodes, not the pods (README "create a BGPPeer"):
 * nextHopMode NodeIP (each node's speaker announces its LB pods' VIPs via itself; the chart's nodeRoutes), on the
 * router's own link (single hop), BFD with its defaults.
 */
export function bgpPeerManifest(name: string, o: { peerAddress: string; peerASN: number; myASN: number; namespaces: string[] }): string {
  return `apiVersion: portablelb.io/v1alpha1
kind: BGPPeer
metadata: {name: ${name}, labels: {${E2E_LABEL}: "true"}}
spec:
  peerAddress: ${o.peerAddress}
  peerASN: ${o.peerASN}
  myASN: ${o.myASN}
  nextHopMode: NodeIP
  bfd: {}
  namespaces: [${o.namespaces.join(', ')}]
`;
}

/** The backends' own budget, as a user's service has one: a drain takes them one at a time. */
export function backendBudgetManifest(): string {
  return `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
`;
}
