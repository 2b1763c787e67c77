// The objects the e2e test applies, as YAML text for `kubectl apply -f -` (what a user does).

/** Backends answering with their pod name, from the portable-lb image (already loaded: no registry pull). */
export function backendManifest(image: string, replicas: number): string {
  const server = "require('http').createServer((q,s)=>s.end(require('os').hostname()+'\\\\n')).listen(8080)";
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
