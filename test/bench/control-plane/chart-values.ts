// The chart's defaults that decide how the operator runs, so that the bench starts it as the chart does (its
// NODE_OPTIONS: V8's heap limit) and a unit test can hold the heap limit below the container's memory limit. Pure.
import { load } from 'js-yaml';
import { quantityValue } from '../../../src/operator/quantity.js';

interface ChartValues {
  nodeOptions?: string;
  resources?: { limits?: { memory?: string } };
}

/** The operator container's NODE_OPTIONS (values.yaml nodeOptions; '' when unset). */
export function chartNodeOptions(valuesYaml: string): string {
  return (load(valuesYaml) as ChartValues).nodeOptions ?? '';
}

/** The operator container's memory limit in MiB (values.yaml resources.limits.memory), if any. */
export function chartMemoryLimitMiB(valuesYaml: string): number | undefined {
  const limit = (load(valuesYaml) as ChartValues).resources?.limits?.memory;
  const bytes = limit === undefined ? undefined : quantityValue(limit);
  return bytes === undefined ? undefined : bytes / 2 ** 20;
}

/** --max-old-space-size in MiB, the last one given (as Node reads them), if any. */
export function maxOldSpaceMiB(nodeOptions: string): number | undefined {
  const all = [...nodeOptions.matchAll(/(?:^|\s)--max[-_]old[-_]space[-_]size[= ](\d+)(?=\s|$)/g)];
  return all.length > 0 ? Number(all[all.length - 1]![1]) : undefined;
}
