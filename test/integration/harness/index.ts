// The integration-test harness: a real etcd + kube-apiserver (+ kube-controller-manager) per test file.
export { apiErrorCode, apiStatus, isApiException, type StatusBody } from './api-errors.js';
export { findBinary, repoRoot, testAssetVariable, type BinaryName } from './binaries.js';
export {
  startControlPlane,
  type AuditEvent,
  type ControlPlane,
  type ControlPlaneOptions,
  type KubectlResult,
} from './control-plane.js';
export { installCrds, readCrds } from './crds.js';
export { createTestNamespace, deleteTestNamespace } from './namespaces.js';
export { eventually } from './eventually.js';
