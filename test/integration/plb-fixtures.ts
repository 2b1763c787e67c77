// Reads the API-validation fixtures the lead maintains:
//   test/fixtures/invalid/*.yaml — one manifest, headed by one or more `# expect: <text>` lines, each a
//                                  substring of the API server's rejection message;
//   test/fixtures/valid/*.yaml   — the manifest, then a second document: its spec after API-server defaulting.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { repoRoot } from './harness/index.js';

export interface InvalidFixture {
  file: string;
  manifest: KubernetesObject;
  expect: string[];
}

export interface ValidFixture {
  file: string;
  manifest: KubernetesObject;
  expectedSpec: unknown;
}

/** `base`: '' for the PortableLoadBalancer fixtures, 'bgppeer/' for the BGPPeer ones. */
const fixtureDir = (kind: 'valid' | 'invalid', base = ''): string => join(repoRoot, 'test/fixtures', `${base}${kind}`);

export function fixtureFiles(kind: 'valid' | 'invalid', base = ''): string[] {
  return readdirSync(fixtureDir(kind, base)).filter((f) => /\.ya?ml$/.test(f)).sort();
}

function asManifest(doc: unknown, file: string): KubernetesObject {
  if (typeof doc !== 'object' || doc === null || !('kind' in doc)) throw new Error(`${file}: first document is not a manifest`);
  return doc as KubernetesObject;
}

/** `# expect:` lines are read from the comment block that opens the file, and there must be at least one. */
export function readInvalidFixture(file: string, base = ''): InvalidFixture {
  const text = readFileSync(join(fixtureDir('invalid', base), file), 'utf8');
  const header = text.split('\n').filter((_, i, lines) => lines.slice(0, i + 1).every((l) => /^\s*(#.*)?$/.test(l)));
  const expect = header.flatMap((line) => {
    const match = /^\s*#\s*expect:\s*(.*?)\s*$/.exec(line);
    return match?.[1] ? [match[1]] : [];
  });
  if (expect.length === 0) throw new Error(`${file}: no "# expect: <message>" line at the top of the file`);
  return { file, manifest: asManifest(yaml.load(text), file), expect };
}

export function readValidFixture(file: string, base = ''): ValidFixture {
  const docs = yaml.loadAll(readFileSync(join(fixtureDir('valid', base), file), 'utf8'));
  if (docs.length !== 2) throw new Error(`${file}: want 2 documents (manifest, expected spec), found ${docs.length}`);
  return { file, manifest: asManifest(docs[0], file), expectedSpec: docs[1] };
}
