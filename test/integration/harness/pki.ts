// Certificates for one control plane, made with openssl: one CA (7 days, ECDSA P-256 as envtest's TinyCA),
// the apiserver's serving certificate, client certificates for the test user and the controller manager,
// and the RSA key pair that signs service-account tokens.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KeyPair {
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  apiServer: KeyPair;
  admin: KeyPair;
  controllerManager: KeyPair;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr || String(err)}`);
  }
}

/** A key and a certificate signed by the CA; `extensions` is an openssl extfile (SANs, key usage). */
export async function issue(dir: string, name: string, subject: string, extensions: string): Promise<KeyPair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', pair.key]);
  await openssl(dir, ['req', '-new', '-key', pair.key, '-subj', subject, '-out', `${name}.csr`]);
  await writeFile(join(dir, `${name}.ext`), extensions);
  await openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key',
    '-CAcreateserial', '-CAserial', 'ca.srl', '-days', '7', '-sha256', '-extfile', `${name}.ext`, '-out', pair.cert,
  ]);
  return pair;
}

/** Client certificate extensions (for issue()). */
export const CLIENT_EXTENSIONS = 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n';

/** `extraIps`: more addresses in the apiserver's certificate, where clients in other namespaces dial it. */
export async function createPki(dir: string, extraIps: string | string[] = []): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  await openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
  await openssl(dir, [
    'req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '7', '-subj', '/CN=portable-lb-test-ca', '-out', 'ca.crt',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,digitalSignature,keyEncipherment',
  ]);
  // kubernetes.default names and 10.0.0.1 (first IP of --service-cluster-ip-range) are what in-cluster
  // clients would dial; harmless for loopback tests, and the same cert then serves both.
  const serving = [
    'subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.0.0.1' +
      [extraIps].flat().map((ip) => `,IP:${ip}`).join(''),
    'extendedKeyUsage=serverAuth',
    'keyUsage=critical,digitalSignature,keyEncipherment',
  ].join('\n');
  const client = CLIENT_EXTENSIONS;
  // Signed one after the other: they share the CA's serial file.
  const apiServer = await issue(dir, 'apiserver', '/CN=kube-apiserver', `${serving}\n`);
  const admin = await issue(dir, 'admin', '/O=system:masters/CN=admin', client);
  // system:masters because the controller manager runs with --use-service-account-credentials=false: all its
  // controllers then share this identity and need every permission the per-controller roles would grant.
  const controllerManager = await issue(dir, 'controller-manager', '/O=system:masters/CN=system:kube-controller-manager', client);
  await openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  await openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    apiServer,
    admin,
    controllerManager,
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPublicKey: join(dir, 'sa.pub'),
  };
}
