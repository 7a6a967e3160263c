/**
 * The `X-Hub-Signature-256` check of Genesys outbound notification webhooks (genesys-open-messaging.md §3.2), over
 * the raw body. Pure: no I/O, no clock.
 *
 * Rejecting a body that carries no valid signature costs one HMAC over its bytes and little more: the
 * re-serialised fallback below parses and re-encodes the body, so it is tried only on bodies small and shallow
 * enough for that to be cheap, and the depth is checked by a byte scan before any parse.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type GenesysSignatureVariant = 'base64' | 'hex' | 'base64-reserialized' | 'hex-reserialized';

export type GenesysSignatureCheck =
  | { ok: true; variant: GenesysSignatureVariant }
  | { ok: false; reason: 'missing' | 'malformed' | 'mismatch' };

type DigestEncoding = 'base64' | 'hex';

const SIGNATURE_PREFIX = 'sha256=';
// Documented: standard, padded base64 of the 32-byte HMAC (44 chars).
// https://developer.genesys.cloud/commdigital/digital/openmessaging/validate
const BASE64_DIGEST = /^[A-Za-z0-9+/]{43}=$/;
// Observed: lower-case hex (64 chars), accepted by a third-party middleware.
// https://github.com/dgurwan/genesys-open-messaging-middleware (src/signatures.js)
const HEX_DIGEST = /^[0-9a-f]{64}$/;

/**
 * The largest body the re-serialised fallback is tried on. An agent notification with Genesys's longest text
 * (4,000 characters, key fact 25), every one escaped as `\uXXXX`, is about 25 KB with its envelope (49 KB if all
 * are emoji); parsing and re-encoding 64 KiB costs well under a millisecond.
 */
export const FALLBACK_MAX_BYTES = 64 * 1024;
/**
 * The deepest nesting of arrays and objects the fallback is tried on. The deepest notification shape, a carousel
 * card's action (body → content → item → carousel → cards → card → actions → action), is 8 levels deep.
 */
export const FALLBACK_MAX_DEPTH = 16;

/**
 * Checks `X-Hub-Signature-256: sha256=<digest>` (HMAC-SHA256 keyed with the integration's
 * `outboundNotificationWebhookSignatureSecretToken`). The raw bytes are tried first; Genesys's own sample hashes
 * `JSON.stringify(JSON.parse(body))`, so that is the fallback (§3.2 step 4), for bodies of at most
 * FALLBACK_MAX_BYTES nested at most FALLBACK_MAX_DEPTH deep. `variant` says which matched, so the set can be
 * narrowed once real deliveries are seen; every variant still needs the secret.
 * Throws on an empty secret: verification never silently passes (fail closed).
 */
export function verifyGenesysSignature(
  rawBody: Uint8Array,
  header: string | null | undefined,
  secret: string,
): GenesysSignatureCheck {
  assertSecret(secret);
  if (header === null || header === undefined || header === '') return { ok: false, reason: 'missing' };
  if (!header.startsWith(SIGNATURE_PREFIX)) return { ok: false, reason: 'malformed' };
  const digest = header.slice(SIGNATURE_PREFIX.length);
  const encoding = digestEncoding(digest);
  if (encoding === undefined) return { ok: false, reason: 'malformed' };
  if (digestMatches(hmacSha256(secret, rawBody), encoding, digest)) return { ok: true, variant: encoding };
  const reserialized = rawBody.length <= FALLBACK_MAX_BYTES && nestsAtMost(rawBody, FALLBACK_MAX_DEPTH) ? reserializedJson(rawBody) : undefined;
  if (reserialized !== undefined && digestMatches(hmacSha256(secret, reserialized), encoding, digest)) {
    return { ok: true, variant: `${encoding}-reserialized` };
  }
  return { ok: false, reason: 'mismatch' };
}

/** The `X-Hub-Signature-256` value Genesys would send for this body (fake Genesys, tests, sandbox). */
export function signGenesysBody(raw: Uint8Array | string, secret: string, encoding: DigestEncoding = 'base64'): string {
  assertSecret(secret);
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  return `${SIGNATURE_PREFIX}${hmacSha256(secret, bytes).toString(encoding)}`;
}

function digestEncoding(digest: string): DigestEncoding | undefined {
  if (BASE64_DIGEST.test(digest)) return 'base64';
  if (HEX_DIGEST.test(digest)) return 'hex';
  return undefined;
}

/**
 * Compares the encoded strings, not decoded bytes: base64 decoding ignores the last character's spare bits, so
 * two different headers could decode alike. The regexes above fix the length, so the buffers are equal-length.
 */
function digestMatches(mac: Buffer, encoding: DigestEncoding, received: string): boolean {
  const expected = Buffer.from(mac.toString(encoding), 'ascii');
  const actual = Buffer.from(received, 'ascii');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]); // [ {
const CLOSERS = new Set([0x5d, 0x7d]); // ] }

/** Whether the JSON text's arrays and objects nest at most `maxDepth` deep, by one scan of its bytes. */
function nestsAtMost(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (OPENERS.has(byte)) {
      if (++depth > maxDepth) return false;
    } else if (CLOSERS.has(byte)) depth--;
  }
  return true;
}

/** `JSON.stringify(JSON.parse(raw))` as bytes; undefined when it is not JSON or nothing would change. */
function reserializedJson(rawBody: Uint8Array): Buffer | undefined {
  const text = new TextDecoder().decode(rawBody);
  let reserialized: string;
  try {
    reserialized = JSON.stringify(JSON.parse(text));
  } catch {
    return undefined;
  }
  return reserialized === text ? undefined : Buffer.from(reserialized, 'utf8');
}

function hmacSha256(secret: string, bytes: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(bytes).digest();
}

function assertSecret(secret: string): void {
  if (secret === '') throw new Error('Genesys webhook verification needs a non-empty signature secret (fail closed)');
}
