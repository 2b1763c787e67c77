// One real node: containerd (its own socket, roots, runc root and CNI configuration), the images it must hold
// (nothing is ever pulled), then the kubelet and kube-proxy, all inside the node's network namespace, mount
// namespace and cgroup.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCgroup } from './cgroups.js';
import { assertAlive, startDaemon, type Daemon } from './daemons.js';
import { run, waitFor } from './exec.js';
import { createMountNs } from './mounts.js';
import type { ClusterPlan, NodePlan } from './plan.js';
import type { ClusterPki } from './pki.js';
import { cniConfig, containerdConfig, kubeletConfig, kubeProxyConfig, nodePaths } from './render.js';

/** An OCI archive and the repository its tags are imported under (`localhost/portable-lb` + `:dev`). */
export interface ImageArchive {
  tar: string;
  repository: string;
}

export function writeNodeConfig(plan: ClusterPlan, node: NodePlan, pki: ClusterPki): void {
  const p = nodePaths(node);
  for (const d of [node.dir, p.cniConfDir, p.cniIpamDir, p.kubeletRoot, p.kubeletCertDir, p.podLogs, p.logs]) mkdirSync(d, { recursive: true });
  writeFileSync(p.containerdConfig, containerdConfig(node));
  writeFileSync(join(p.cniConfDir, '10-plb-cluster.conflist'), cniConfig(node));
  writeFileSync(p.kubeletConfig, kubeletConfig(plan, node, pki.caCert));
  writeFileSync(p.kubeProxyConfig, kubeProxyConfig(node));
}

export async function importImage(node: NodePlan, image: ImageArchive): Promise<void> {
  const socket = nodePaths(node).containerdSocket;
  await run('ctr', ['--address', socket, '--namespace', 'k8s.io', 'images', 'import', '--base-name', image.repository, image.tar]);
}

export async function startNode(node: NodePlan, binDir: string, images: ImageArchive[]): Promise<Daemon[]> {
  const p = nodePaths(node);
  createCgroup(node.name);
  await createMountNs(p.mountNs, node.dir);
  const inNode = { ns: node.name, mountNs: p.mountNs, dir: p.logs };
  const containerd = startDaemon({ ...inNode, name: 'containerd', argv: ['/usr/bin/containerd', '--config', p.containerdConfig] });
  await waitFor(`containerd of ${node.name}`, 30_000, async () => {
    assertAlive(containerd);
    await run('ctr', ['--address', p.containerdSocket, 'version']);
    return true;
  });
  for (const image of images) await importImage(node, image);
  const kubelet = startDaemon({
    ...inNode,
    name: 'kubelet',
    argv: [join(binDir, 'kubelet'), `--config=${p.kubeletConfig}`, `--kubeconfig=${p.kubeletKubeconfig}`,
      `--hostname-override=${node.name}`, `--node-ip=${node.ip}`, `--root-dir=${p.kubeletRoot}`, `--cert-dir=${p.kubeletCertDir}`],
  });
  const kubeProxy = startDaemon({ ...inNode, name: 'kube-proxy', argv: [join(binDir, 'kube-proxy'), `--config=${p.kubeProxyConfig}`] });
  return [containerd, kubelet, kubeProxy];
}
