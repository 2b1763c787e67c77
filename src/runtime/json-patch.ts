/** An RFC 6902 JSON patch operation, the subset the operator writes. */
export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string };
