// The report module: measured samples -> results.json; results.json -> results.md, ratios.svg, README section.
// Pure functions only; test/bench/report-main.ts does the file I/O.
import { aggregate, parseSamples } from './aggregate.js';
import { ratiosSvg } from './svg.js';
import { readmeSection, replaceSection, resultsMarkdown } from './render.js';
import type { ControlPlaneResults, ResultsFile } from './types.js';

export * from './aggregate.js';
export * from './render.js';
export * from './flow-gc.js';
export * from './svg.js';
export type * from './types.js';

export interface BuildInput {
  machine: string;
  date: string;
  method: ResultsFile['method'];
  samplesJsonl: string;
  controlPlane: ControlPlaneResults;
}

export function buildResults(input: BuildInput): ResultsFile {
  const { samples, failures, skipped } = parseSamples(input.samplesJsonl);
  return {
    machine: input.machine,
    date: input.date,
    method: input.method,
    results: aggregate(samples),
    skipped,
    failures,
    control_plane: input.controlPlane,
  };
}

export interface Rendered {
  markdown: string;
  svg: string;
  readme: string;
}

/** Everything that is generated from results.json; `readme` is the README with its section replaced. */
export function render(file: ResultsFile, readme: string): Rendered {
  return {
    markdown: resultsMarkdown(file),
    svg: ratiosSvg(file.results, 'Ratio to the routed baseline; axes: to RPS off / to host-gw (bar: median, whisker: min–max)',
      `${file.machine}, ${file.date}`),
    readme: replaceSection(readme, readmeSection(file)),
  };
}
