// The harness with kube-controller-manager: what the operator tests rely on. A Deployment gets a ReplicaSet
// and Pods (Pending, as there is no node), deleting it garbage-collects them through owner references,
// and a deleted namespace really goes away.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { AppsV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import {
  apiErrorCode,
  createTestNamespace,
  deleteTestNamespace,
  eventually,
  startControlPlane,
  type ControlPlane,
} from './harness/index.js';

// jest ignores testTimeout inside a `projects` entry, so the integration tier's 180s is set here.
jest.setTimeout(180_000);

let cp: ControlPlane;
let apps: AppsV1Api;
let core: CoreV1Api;
let namespace: string;

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  apps = cp.kubeConfig.makeApiClient(AppsV1Api);
  core = cp.kubeConfig.makeApiClient(CoreV1Api);
});
afterAll(async () => {
  await cp?.stop();
});
beforeEach(async () => {
  namespace = await createTestNamespace(cp.kubeConfig, 'kcm');
});
afterEach(async () => {
  await deleteTestNamespace(cp.kubeConfig, namespace).catch(() => undefined); // a test may have deleted it
});

function deployment(name: string, replicas: number): V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      // Never pulled: no node will ever run it.
      template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1' }] } },
    },
  };
}

describe('kube-controller-manager in the harness', () => {
  test('a Deployment yields a ReplicaSet and Pending Pods owned by it, and deleting it collects them', async () => {
    const created = await apps.createNamespacedDeployment({ namespace, body: deployment('web', 2) });

    const replicaSet = await eventually(async () => {
      const { items } = await apps.listNamespacedReplicaSet({ namespace });
      expect(items).toHaveLength(1);
      return items[0];
    });
    expect(replicaSet?.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Deployment',
      name: 'web',
      uid: created.metadata?.uid,
      controller: true,
    });

    const pods = await eventually(async () => {
      const { items } = await core.listNamespacedPod({ namespace });
      expect(items).toHaveLength(2);
      return items;
    });
    for (const pod of pods) {
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', uid: replicaSet?.metadata?.uid });
      expect(pod.status?.phase).toBe('Pending');
      expect(pod.spec?.nodeName).toBeUndefined();
      // The ServiceAccount admission plugin is on when the controller manager runs, as in a real cluster.
      expect(pod.spec?.serviceAccountName).toBe('default');
    }

    await apps.deleteNamespacedDeployment({ namespace, name: 'web', propagationPolicy: 'Background' });
    await eventually(async () => {
      expect((await apps.listNamespacedReplicaSet({ namespace })).items).toHaveLength(0);
      expect((await core.listNamespacedPod({ namespace })).items).toHaveLength(0);
    });
  });

  test('a deleted namespace finishes terminating', async () => {
    await apps.createNamespacedDeployment({ namespace, body: deployment('doomed', 1) });
    await eventually(async () => expect((await core.listNamespacedPod({ namespace })).items).toHaveLength(1));

    await deleteTestNamespace(cp.kubeConfig, namespace);
    await eventually(async () => {
      const gone = await core.readNamespace({ name: namespace }).then(
        (ns) => `still ${ns.status?.phase}`,
        (err: unknown) => apiErrorCode(err),
      );
      expect(gone).toBe(404);
    }, 60_000);
  });
});
