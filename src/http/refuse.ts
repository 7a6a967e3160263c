import { DMB_ERR, type DmbErrorName } from '../core/errors.js';

/** Every refusal the bridge makes: a stable DMB_ERR_* code (documented in docs/errors.md) and a sentence. */
export function refuse(name: DmbErrorName, message: string): Response {
  const { code, status } = DMB_ERR[name];
  return Response.json({ error: code, message }, { status });
}
