/**
 * Webhook authentication for Meta (Instagram) callbacks: the `X-Hub-Signature-256` HMAC over the raw body and
 * the `hub.*` subscription handshake. Pure functions; the HTTP layer maps the results onto DMB_ERR codes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { equalsInConstantTime } from '../../core/secret-compare.js';

export type MetaSignatureCheck =
  | { ok: true; secretIndex: number }
  | { ok: false; reason: 'missing' | 'malformed' | 'mismatch' };

// `sha256=` + 64 hex chars; Meta sends lower-case hex, upper-case is accepted too.
// https://developers.facebook.com/docs/graph-api/webhooks/getting-started
const SIGNATURE_HEADER = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Checks `X-Hub-Signature-256` against every configured secret (Instagram app secret and Meta App Secret: which
 * one signs Instagram-Login webhooks is unconfirmed, so either may match). `secretIndex` tells which one did.
 * Throws when no usable secret is given: verification never silently passes (fail closed).
 */
export function verifyMetaSignature(
  rawBody: Uint8Array,
  header: string | null | undefined,
  secrets: readonly string[],
): MetaSignatureCheck {
  assertUsable(secrets, 'app secret');
  if (header === null || header === undefined || header === '') return { ok: false, reason: 'missing' };
  const hex = SIGNATURE_HEADER.exec(header)?.[1];
  if (hex === undefined) return { ok: false, reason: 'malformed' };
  const received = Buffer.from(hex, 'hex');
  // HMAC over the exact raw bytes: Meta escapes non-ASCII as \uXXXX, so re-serialised JSON would not match.
  // https://developers.facebook.com/docs/messenger-platform/webhook
  const secretIndex = secrets.findIndex((secret) => timingSafeEqual(hmacSha256(secret, rawBody), received));
  return secretIndex >= 0 ? { ok: true, secretIndex } : { ok: false, reason: 'mismatch' };
}

/**
 * The subscription handshake: `GET ?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…` is answered with the
 * raw challenge (200) only when the token matches one of ours; `null` means answer 403.
 * https://developers.facebook.com/docs/graph-api/webhooks/getting-started
 */
export function answerMetaHandshake(params: URLSearchParams, verifyTokens: readonly string[]): string | null {
  assertUsable(verifyTokens, 'verify token');
  const challenge = params.get('hub.challenge');
  const token = params.get('hub.verify_token');
  if (params.get('hub.mode') !== 'subscribe' || challenge === null || token === null) return null;
  return verifyTokens.some((expected) => equalsInConstantTime(token, expected)) ? challenge : null;
}

/** The `X-Hub-Signature-256` value Meta would send for this body (tests, sandbox, benchmarks). */
export function signMetaBody(rawBody: Uint8Array | string, secret: string): string {
  const bytes = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  return `sha256=${hmacSha256(secret, bytes).toString('hex')}`;
}

function hmacSha256(secret: string, bytes: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(bytes).digest();
}

/** An empty list or an empty string would make any caller (or anyone) pass: a configuration error, not a skip. */
function assertUsable(values: readonly string[], what: string): void {
  if (values.length === 0 || values.some((v) => v === '')) {
    throw new Error(`Meta webhook verification needs at least one non-empty ${what} (fail closed)`);
  }
}
