// A validating admission webhook the test controls, for writes that hang or are refused: the API server calls
// it for Deployments in one namespace; `mode` says what it does with each request. It serves with the API
// server's own certificate (valid for 127.0.0.1, signed by the harness CA, which is the caBundle).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { ServerResponse } from 'node:http';
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import type { ControlPlane } from '../harness/index.js';

export type WebhookMode = 'allow' | 'hang' | { deny: string };

export interface TestWebhook {
  mode: WebhookMode;
  /** Requests seen, and how many are being held unanswered now. */
  seen: number;
  held: number;
  close(): Promise<void>;
}

export async function startDeploymentWebhook(cp: ControlPlane, namespace: string, name: string): Promise<TestWebhook> {
  const hanging = new Set<ServerResponse>();
  const hook: TestWebhook = {
    mode: 'allow',
    seen: 0,
    get held() {
      return hanging.size;
    },
    close: async () => undefined,
  };
  const server: Server = createServer({ cert: readFileSync(cp.pki.apiServer.cert), key: readFileSync(cp.pki.apiServer.key) }, (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hook.seen++;
      const review = JSON.parse(body) as { request: { uid: string } };
      const mode = hook.mode;
      if (mode === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      const allowed = mode === 'allow';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: review.request.uid, allowed, ...(allowed ? {} : { status: { code: 403, message: mode.deny } }) },
      }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const admission = cp.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  await admission.createValidatingWebhookConfiguration({
    body: {
      metadata: { name },
      webhooks: [{
        name: `${name}.portablelb.test`,
        clientConfig: { url: `https://127.0.0.1:${port}/validate`, caBundle: readFileSync(cp.pki.caCert).toString('base64') },
        rules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 30,
        failurePolicy: 'Fail',
      }],
    },
  });
  hook.close = async () => {
    await admission.deleteValidatingWebhookConfiguration({ name }).catch(() => undefined);
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return hook;
}
