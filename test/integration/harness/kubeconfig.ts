// Kubeconfig files with the certificates embedded, so that kubectl, a spawned operator and client-node all
// read the same single file, and a copy of it outlives nothing it points to.
import { readFileSync, writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import type { KeyPair } from './pki.js';

const base64 = (path: string): string => readFileSync(path).toString('base64');

export function writeKubeconfig(path: string, serverUrl: string, caCert: string, user: KeyPair, userName: string): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'portable-lb-test', cluster: { server: serverUrl, 'certificate-authority-data': base64(caCert) } }],
    users: [{ name: userName, user: { 'client-certificate-data': base64(user.cert), 'client-key-data': base64(user.key) } }],
    contexts: [{ name: 'portable-lb-test', context: { cluster: 'portable-lb-test', user: userName } }],
    'current-context': 'portable-lb-test',
  };
  writeFileSync(path, yaml.dump(config), { mode: 0o600 });
}

export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}
