// test/fixtures/{invalid,valid} (PortableLoadBalancer) and test/fixtures/bgppeer/{invalid,valid} checked offline
// against their CRD's OpenAPI schema. CEL rules cannot be evaluated here (they use the Kubernetes IP library);
// for those fixtures this checks that the expected message is one a CEL rule of the CRD really gives, and the
// integration tier applies every fixture to a real API server.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import yaml from 'js-yaml';

const root = process.cwd();

/** OpenAPI v3 structural schema -> JSON schema ajv understands; collects CEL messages on the way. */
function toJsonSchema(node: unknown, celMessages: string[]): unknown {
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n, celMessages));
  if (!node || typeof node !== 'object') return node;
  const n = node as Record<string, unknown>;
  for (const rule of (n['x-kubernetes-validations'] as { message: string }[] | undefined) ?? []) celMessages.push(rule.message);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(n)) if (!k.startsWith('x-kubernetes-') && k !== 'default') out[k] = toJsonSchema(v, celMessages);
  if (n['x-kubernetes-int-or-string']) out['type'] = ['integer', 'string'];
  if (n['x-kubernetes-preserve-unknown-fields']) out['additionalProperties'] = true;
  else if (n['type'] === 'object' && n['properties'] && n['additionalProperties'] === undefined) out['additionalProperties'] = false;
  return out;
}

function fixtures(dir: string) {
  const d = join(root, 'test/fixtures', dir);
  return readdirSync(d)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => {
      const text = readFileSync(join(d, f), 'utf8');
      const expects = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]!.trim());
      return { file: f, expects, doc: yaml.loadAll(text)[0] };
    });
}

const kinds = [
  { kind: 'PortableLoadBalancer', crd: 'crds/portablelb.io_portableloadbalancers.yaml', dir: '', minInvalid: 20 },
  { kind: 'BGPPeer', crd: 'crds/portablelb.io_bgppeers.yaml', dir: 'bgppeer/', minInvalid: 15 },
];

describe.each(kinds)('$kind fixtures', ({ crd: crdFile, dir, minInvalid }) => {
  const crd = yaml.load(readFileSync(join(root, crdFile), 'utf8')) as {
    spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
  };
  const celMessages: string[] = [];
  const schema = toJsonSchema(crd.spec.versions[0]!.schema.openAPIV3Schema, celMessages) as object;
  const validate = new Ajv({ strict: false, validateFormats: false, allErrors: true }).compile(schema);
  const invalid = fixtures(`${dir}invalid`);

  it(`has at least ${minInvalid} invalid cases, each naming the message the API server must give`, () => {
    expect(invalid.length).toBeGreaterThanOrEqual(minInvalid);
    for (const f of invalid) expect([f.file, f.expects.length > 0]).toEqual([f.file, true]);
  });

  const isCel = (expects: string[]) => expects.some((e) => celMessages.some((m) => m.includes(e)));
  const schemaCases = invalid.filter((f) => !isCel(f.expects));
  const celCases = invalid.filter((f) => isCel(f.expects));

  it.each(schemaCases.map((f) => [f.file, f] as const))('invalid %s is rejected by the OpenAPI schema', (_name, f) => {
    expect(validate(f.doc)).toBe(false);
  });

  it.each(celCases.map((f) => [f.file, f] as const))('invalid %s expects the message of a real CEL rule of the CRD', (_name, f) => {
    expect(f.expects.filter((e) => celMessages.some((m) => m.includes(e))).length).toBeGreaterThan(0);
  });

  it('says that CEL is not evaluated offline', () => {
    console.log(
      `${celCases.length} invalid fixture(s) in test/fixtures/${dir}invalid depend on CEL rules, not evaluated offline; ` +
        'the integration tier applies every fixture to a real kube-apiserver',
    );
    expect(celCases.length + schemaCases.length).toBe(invalid.length);
  });

  it.each(fixtures(`${dir}valid`).map((f) => [f.file, f] as const))('valid %s passes the OpenAPI schema', (_name, f) => {
    const ok = validate(f.doc);
    expect(ok ? [] : validate.errors).toEqual([]);
  });
});
