import { DMB_ERR, type DmbErrorName } from '../core/errors.js';

/** Every refusal the bridge makes: a stable DMB_ERR_* code (documented in docs/errors.md) and a sentence. */
export function refuse(name: DmbErrorName, message: string): Response {
  const { code, status } = DMB_ERR[name];
  return Response.json({ error: code, message }, { status });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A webhook body parsed as UTF-8 JSON, or the 400 to answer when it is not. */
export function parseJsonBody(raw: Uint8Array): { ok: true; value: unknown } | { ok: false; refusal: Response } {
  try {
    return { ok: true, value: JSON.parse(UTF8.decode(raw)) };
  } catch {
    return { ok: false, refusal: refuse('MALFORMED_JSON', 'the body is not valid UTF-8 JSON') };
  }
}
