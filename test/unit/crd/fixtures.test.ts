// test/fixtures/{invalid,valid} checked offline against the CRD's OpenAPI schema. CEL rules cannot be evaluated
// here (they use the Kubernetes IP library); for those fixtures this checks that the expected message is one a
// CEL rule of the CRD really gives, and the integration tier applies every fixture to a real API server.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import yaml from 'js-yaml';

const root = process.cwd();
const crd = yaml.load(readFileSync(join(root, 'crds/portablelb.io_portableloadbalancers.yaml'), 'utf8')) as {
  spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
};
const openApi = crd.spec.versions[0]!.schema.openAPIV3Schema;

const celMessages: string[] = [];
/** OpenAPI v3 structural schema -> JSON schema ajv understands; collects CEL messages on the way. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const n = node as Record<string, unknown>;
  for (const rule of (n['x-kubernetes-validations'] as { message: string }[] | undefined) ?? []) celMessages.push(rule.message);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(n)) if (!k.startsWith('x-kubernetes-') && k !== 'default') out[k] = toJsonSchema(v);
  if (n['x-kubernetes-int-or-string']) out['type'] = ['integer', 'string'];
  if (n['x-kubernetes-preserve-unknown-fields']) out['additionalProperties'] = true;
  else if (n['type'] === 'object' && n['properties'] && n['additionalProperties'] === undefined) out['additionalProperties'] = false;
  return out;
}
const validate = new Ajv({ strict: false, validateFormats: false, allErrors: true }).compile(toJsonSchema(openApi) as object);

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

const invalid = fixtures('invalid');

describe('invalid PortableLoadBalancer manifests', () => {
  it('has at least 20 cases, each naming the message the API server must give', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(20);
    for (const f of invalid) expect([f.file, f.expects.length > 0]).toEqual([f.file, true]);
  });

  const isCel = (expects: string[]) => expects.some((e) => celMessages.some((m) => m.includes(e)));
  const schemaCases = invalid.filter((f) => !isCel(f.expects));
  const celCases = invalid.filter((f) => isCel(f.expects));

  it.each(schemaCases.map((f) => [f.file, f] as const))('%s is rejected by the OpenAPI schema', (_name, f) => {
    expect(validate(f.doc)).toBe(false);
  });

  it.each(celCases.map((f) => [f.file, f] as const))('%s expects the message of a real CEL rule of the CRD', (_name, f) => {
    expect(f.expects.filter((e) => celMessages.some((m) => m.includes(e))).length).toBeGreaterThan(0);
  });

  it('says that CEL is not evaluated offline', () => {
    console.log(
      `${celCases.length} invalid fixture(s) depend on CEL rules (Kubernetes IP library), not evaluated offline; ` +
        'test/integration/crd.test.ts applies every fixture to a real kube-apiserver',
    );
    expect(celCases.length + schemaCases.length).toBe(invalid.length);
  });
});

describe('valid PortableLoadBalancer manifests', () => {
  it.each(fixtures('valid').map((f) => [f.file, f] as const))('%s passes the OpenAPI schema', (_name, f) => {
    const ok = validate(f.doc);
    expect(ok ? [] : validate.errors).toEqual([]);
  });
});
