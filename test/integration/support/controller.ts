// The in-process operator controller the integration tests run against their API server: the test image
// settings, single-tenant (these tests are about children and conditions, not ownership: VIPs need no
// VIPPool), started and waited for until its caches are ready. Options override the defaults.
import { expect } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { Controller, type ControllerOptions } from '../../../src/operator/controller.js';
import { createLogger } from '../../../src/runtime/log.js';
import { eventually } from '../harness/index.js';

export const TEST_AGENT_SETTINGS: ControllerOptions['settings'] = { agentImage: 'portable-lb:test', imagePullPolicy: 'Never', agentLogLevel: 'info' };

export async function startTestController(kubeConfig: KubeConfig, options: Partial<ControllerOptions> = {}): Promise<Controller> {
  const controller = new Controller({
    kubeConfig,
    log: createLogger(process.env['LOG_LEVEL'] ?? 'error'),
    settings: TEST_AGENT_SETTINGS,
    singleTenant: true,
    ...options,
  });
  controller.start();
  await eventually(async () => expect(controller.ready).toBe(true));
  return controller;
}
