// The standalone agent's source of DesiredState: a PortableLoadBalancer file plus where the agent runs.
// A Kubernetes source (watching the PLB and its EndpointSlices) is another function of the same type.
import type { DesiredState } from '../dataplane/types.js';
import { desiredState, parseStandaloneFile, type StandaloneSpec } from './config.js';

export type DesiredStateSource = () => Promise<DesiredState>;

export interface AgentEnvironment {
  /** The VIP's device and the LB's own address; resolved on every sync because addresses can change. */
  resolve(spec: StandaloneSpec): Promise<{ interface: string; snatIp: string }>;
}

export function fileSource(
  read: () => Promise<{ text: string; source: string }>,
  environment: AgentEnvironment,
): DesiredStateSource {
  return async () => {
    const { text, source } = await read();
    const spec = parseStandaloneFile(text, source);
    return desiredState(spec, await environment.resolve(spec));
  };
}
