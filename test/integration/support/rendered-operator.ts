// Runs the operator as shipped (package.json's plb-operator: dist/operator/main.mjs) exactly as the chart's rendered Deployment would run the container: its args
// and env, with the downward-API values a kubelet would fill in, plus --kubeconfig (there is no in-cluster
// service account file here) and a loopback metrics address (the rendered :8080 may be taken on this machine).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import { OPERATOR_MAIN } from './operator-process.js';

export interface PodIdentity {
  name: string;
  namespace: string;
}

/** The container's env as a plain map; fieldRefs resolved as the kubelet would for this pod. */
export function containerEnv(container: V1Container, pod: PodIdentity): Record<string, string> {
  const fields: Record<string, string> = { 'metadata.name': pod.name, 'metadata.namespace': pod.namespace };
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    const path = e.valueFrom?.fieldRef?.fieldPath;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (path && fields[path] !== undefined) env[e.name] = fields[path];
    else throw new Error(`env ${e.name}: the test cannot resolve ${JSON.stringify(e.valueFrom)}`);
  }
  return env;
}

export function operatorContainer(deployment: V1Deployment): V1Container {
  const c = deployment.spec?.template.spec?.containers.find((x) => x.name === 'operator');
  if (!c) throw new Error('the rendered Deployment has no container named operator');
  return c;
}

export interface RunningOperator {
  child: ChildProcess;
  logs: string[];
  ready(): Promise<boolean>;
  stop(): Promise<void>;
}

export function startRenderedOperator(
  deployment: V1Deployment,
  pod: PodIdentity,
  kubeconfigPath: string,
  metricsPort: number,
): RunningOperator {
  const container = operatorContainer(deployment);
  // The image puts plb-operator on PATH as the package's bin entry, i.e. this file.
  if (JSON.stringify(container.command) !== '["plb-operator"]') throw new Error(`unexpected command ${container.command}`);
  const args = [
    OPERATOR_MAIN,
    ...(container.args ?? []),
    `--kubeconfig=${kubeconfigPath}`,
    `--metrics-bind-address=127.0.0.1:${metricsPort}`, // later flags win in node:util parseArgs
  ];
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...containerEnv(container, pod) };
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const collect = (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return {
    child,
    logs,
    async ready() {
      try {
        return (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      });
    },
  };
}
