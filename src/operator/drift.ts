// Drift in the fields the operator owns, found from the cached child alone (no request, so a steady object still
// costs nothing). Two signs, both needed:
//   (1) what we apply is not in the live object: a value changed (kubectl scale, an edited image or Role rule)
//       or removed. Compared as a subset: the API server adds defaults, which are not drift; quantities compare
//       by value; an empty map or list we send is the same as none.
//   (2) another field manager owns something inside a subtree we own (managedFields): an added volume, env var
//       or container. Server-side apply never removes fields another manager set, so those are listed as JSON
//       patch removals; re-applying (force) then takes every changed value back.
// Owned subtrees: the Deployment's and PodDisruptionBudget's spec (except pod-template annotations, where
// `kubectl rollout restart` writes), a Role's rules, a RoleBinding's roleRef and subjects; everywhere, the
// labels, annotation and owner reference we set. A ServiceAccount's secrets and imagePullSecrets stay the
// admin's. Pure.
import type { KubernetesObject, V1ManagedFieldsEntry } from '@kubernetes/client-node';
import type { JsonPatchOp } from '../runtime/json-patch.js';
import { sameQuantity } from './quantity.js';

type Json = unknown;
type Obj = Record<string, Json>;

export interface Drift {
  /** What differs, for logs ("spec.replicas: 3, want 2"; "spec.template.spec.volumes[extra] added by kubectl-edit"). */
  reasons: string[];
  /** Removals of fields other managers added inside our subtrees, guarded by the live resourceVersion. */
  removals: JsonPatchOp[];
}

const OWNED_SUBTREES: Record<string, string[][]> = {
  Deployment: [['spec']],
  PodDisruptionBudget: [['spec']],
  Role: [['rules']],
  RoleBinding: [['roleRef'], ['subjects']],
  ServiceAccount: [],
};
const NOT_OWNED: string[][] = [['spec', 'template', 'metadata', 'annotations']];

/** Associative lists and the fields that key their items (everything else we send is compared as a whole). */
const LIST_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  env: ['name'],
  ports: ['containerPort', 'protocol'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  ownerReferences: ['uid'],
};
const KEY_DEFAULTS: Record<string, Json> = { protocol: 'TCP' };

const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEmpty = (v: Json) => v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);
const keyOf = (item: Json, keys: string[]) => keys.map((k) => JSON.stringify((isObj(item) ? item[k] : undefined) ?? KEY_DEFAULTS[k] ?? null)).join('|');
const show = (v: Json) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Where `desired` is not contained in `live`: one reason per difference. */
function subsetDiff(desired: Json, live: Json, path: string, field: string, out: string[]): void {
  if (isEmpty(desired)) return;
  if (Array.isArray(desired)) {
    const keys = LIST_KEYS[field];
    if (!Array.isArray(live)) return void out.push(`${path}: missing`);
    if (keys) {
      for (const d of desired) {
        const k = keyOf(d, keys);
        const l = live.find((x) => keyOf(x, keys) === k);
        const label = `${path}[${keys.map((x) => (isObj(d) ? d[x] : '')).filter((x) => x !== undefined).join(',')}]`;
        if (l === undefined) out.push(`${label}: missing`);
        else subsetDiff(d, l, label, '', out);
      }
      return;
    }
    if (live.length !== desired.length) return void out.push(`${path}: ${live.length} item(s), want ${desired.length}`);
    desired.forEach((d, i) => subsetDiff(d, live[i], `${path}[${i}]`, '', out));
    return;
  }
  if (isObj(desired)) {
    if (!isObj(live)) return void out.push(`${path}: missing`);
    const quantities = field === 'requests' || field === 'limits';
    for (const [k, v] of Object.entries(desired)) {
      const p = path ? `${path}.${k}` : k;
      if (quantities && (typeof v === 'string' || typeof v === 'number') && live[k] !== undefined) {
        if (!sameQuantity(v, live[k] as string)) out.push(`${p}: ${show(live[k])}, want ${show(v)}`);
        continue;
      }
      subsetDiff(v, live[k], p, k, out);
    }
    return;
  }
  if (desired !== live) out.push(`${path}: ${live === undefined ? 'missing' : show(live)}, want ${show(desired)}`);
}

type FieldsNode = Record<string, unknown>;
const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Walks another manager's fieldsV1 below `fields`, alongside our desired value and the live one: whatever it
 * owns that we do not send is an addition to remove (the highest such node, once).
 */
function foreignAdditions(fields: FieldsNode, desired: Json, live: Json, pointer: string, path: string, manager: string, out: Drift): void {
  for (const [k, sub] of Object.entries(fields)) {
    if (k === '.') continue;
    let liveChild: Json;
    let desiredChild: Json;
    let childPointer: string;
    let childPath: string;
    if (k.startsWith('f:')) {
      const name = k.slice(2);
      if (!isObj(live) || live[name] === undefined) continue;
      liveChild = live[name];
      desiredChild = isObj(desired) ? desired[name] : undefined;
      childPointer = `${pointer}/${escapePointer(name)}`;
      childPath = path ? `${path}.${name}` : name;
      if (NOT_OWNED.some((n) => n.join('.') === childPath)) continue;
    } else if (k.startsWith('k:') || k.startsWith('v:')) {
      if (!Array.isArray(live)) continue;
      const wanted = JSON.parse(k.slice(2)) as Json;
      const matches = (item: Json) =>
        k.startsWith('v:') ? JSON.stringify(item) === JSON.stringify(wanted) : isObj(wanted) && isObj(item) && Object.entries(wanted).every(([wk, wv]) => JSON.stringify(item[wk] ?? KEY_DEFAULTS[wk]) === JSON.stringify(wv));
      const index = live.findIndex(matches);
      if (index < 0) continue;
      liveChild = live[index];
      desiredChild = Array.isArray(desired) ? desired.find(matches) : undefined;
      childPointer = `${pointer}/${index}`;
      childPath = `${path}[${k.startsWith('v:') ? show(wanted) : Object.values(wanted as Obj).map(show).join(',')}]`;
    } else continue;
    if (isEmpty(desiredChild) && !isEmpty(liveChild)) {
      out.reasons.push(`${childPath} added by ${manager}`);
      out.removals.push({ op: 'remove', path: childPointer });
      continue;
    }
    if (isObj(sub) && Object.keys(sub).some((x) => x !== '.')) foreignAdditions(sub as FieldsNode, desiredChild, liveChild, childPointer, childPath, manager, out);
  }
}

/** Descends a fieldsV1 tree along a path of plain field names. */
function fieldsAt(fields: Json, path: string[]): FieldsNode | undefined {
  let node = fields;
  for (const p of path) node = isObj(node) ? node[`f:${p}`] : undefined;
  return isObj(node) ? (node as FieldsNode) : undefined;
}

const get = (o: Json, path: string[]): Json => path.reduce<Json>((v, p) => (isObj(v) ? v[p] : undefined), o);

/** Removals at higher array indices first, so earlier ones do not shift later ones. */
function orderRemovals(ops: JsonPatchOp[]): JsonPatchOp[] {
  const seg = (p: string) => p.split('/').slice(1);
  return [...ops].sort((a, b) => {
    const x = seg(a.path);
    const y = seg(b.path);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] === y[i]) continue;
      const [nx, ny] = [Number(x[i]), Number(y[i])];
      return Number.isInteger(nx) && Number.isInteger(ny) ? ny - nx : x[i]! < y[i]! ? -1 : 1;
    }
    return y.length - x.length;
  });
}

/** What differs between the child we apply and the live one, in the fields we own; undefined: nothing. */
export function childDrift(desired: KubernetesObject, live: KubernetesObject, manager: string): Drift | undefined {
  const drift: Drift = { reasons: [], removals: [] };
  const d = desired as unknown as Obj;
  const l = live as unknown as Obj;
  const dm = (desired.metadata ?? {}) as Obj;
  subsetDiff({ labels: dm['labels'], annotations: dm['annotations'], ownerReferences: dm['ownerReferences'] }, live.metadata, 'metadata', '', drift.reasons);
  const subtrees = OWNED_SUBTREES[desired.kind ?? ''] ?? [];
  for (const sub of subtrees) subsetDiff(get(d, sub), get(l, sub), sub.join('.'), sub[sub.length - 1]!, drift.reasons);
  const foreign = (live.metadata?.managedFields ?? []).filter(
    (e: V1ManagedFieldsEntry) => e.manager !== manager && (e.subresource ?? '') !== 'status',
  );
  for (const entry of foreign) {
    for (const sub of subtrees) {
      const fields = fieldsAt(entry.fieldsV1, sub);
      if (!fields) continue;
      const parent = sub.slice(0, -1);
      const wrapped = { [`f:${sub[sub.length - 1]}`]: fields };
      foreignAdditions(wrapped, get(d, parent), get(l, parent), parent.map((p) => `/${escapePointer(p)}`).join(''), parent.join('.'), entry.manager ?? 'another manager', drift);
    }
  }
  if (drift.reasons.length === 0) return undefined;
  const rv = live.metadata?.resourceVersion;
  drift.removals = drift.removals.length > 0 && rv ? [{ op: 'test', path: '/metadata/resourceVersion', value: rv }, ...orderRemovals(drift.removals)] : [];
  return drift;
}
