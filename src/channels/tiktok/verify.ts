/**
 * Webhook authentication for TikTok callbacks: `TikTok-Signature: t=<unix seconds>,s=<hex HMAC-SHA256>` over
 * `t + "." + raw body`, keyed with the developer app's secret. Pure functions; the HTTP layer maps the results
 * onto DMB_ERR codes. https://developers.tiktok.com/doc/webhooks-verification (tiktok-messaging.md §4.2)
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type TikTokSignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'missing' | 'malformed' | 'mismatch' | 'stale' };

export interface TikTokSignatureOptions {
  /** The current time, epoch **milliseconds** (the store's `Clock`). */
  now: number;
  /** How old the signed timestamp may be. TikTok's sample says 5 s; real deliveries needed 300 (key fact 20). */
  toleranceSec: number;
  /** How far in the future the signed timestamp may be (clock skew). Default 2 s (§4.2). */
  futureSkewSec?: number;
}

const DEFAULT_FUTURE_SKEW_SEC = 2;
const TIMESTAMP = /^\d{1,12}$/;
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/**
 * Checks `TikTok-Signature` for this exact raw body. The header's parts are split on `,` then on the first `=`
 * and matched by name (order-independent, whitespace trimmed, unknown parts ignored); `t` and `s` must each
 * appear exactly once. The HMAC is checked before the age, so `stale` always means an authentic but old (or
 * future) delivery: a replay outside the tolerance or a clock problem, never a forgery. Throws on an empty
 * secret: verification never silently passes (fail closed).
 */
export function verifyTikTokSignature(
  rawBody: Uint8Array,
  header: string | null | undefined,
  secret: string,
  opts: TikTokSignatureOptions,
): TikTokSignatureCheck {
  assertUsableSecret(secret);
  if (header === null || header === undefined || header.trim() === '') return { ok: false, reason: 'missing' };
  const parts = partsOf(header);
  if (parts === undefined) return { ok: false, reason: 'malformed' };
  const t = parts.get('t');
  const s = parts.get('s');
  if (t === undefined || s === undefined || !TIMESTAMP.test(t) || !HEX_SHA256.test(s)) {
    return { ok: false, reason: 'malformed' };
  }
  // The signed text uses `t` exactly as sent (not re-formatted), followed by the exact raw bytes: re-serialised
  // JSON does not round-trip (§4.2 step 1).
  if (!timingSafeEqual(signature(rawBody, secret, t), Buffer.from(s, 'hex'))) return { ok: false, reason: 'mismatch' };
  const timestamp = Number(t);
  const ageSec = opts.now / 1000 - timestamp;
  if (ageSec > opts.toleranceSec || -ageSec > (opts.futureSkewSec ?? DEFAULT_FUTURE_SKEW_SEC)) {
    return { ok: false, reason: 'stale' };
  }
  return { ok: true, timestamp };
}

/** The `TikTok-Signature` value TikTok would send for this body at `t` (unix seconds): tests, sandbox, benchmarks. */
export function signTikTokBody(raw: Uint8Array | string, secret: string, t: number): string {
  assertUsableSecret(secret);
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  return `t=${t},s=${signature(bytes, secret, String(t)).toString('hex')}`;
}

/** Name → value of every `name=value` part; `undefined` when `t` or `s` appears twice (ambiguous). */
function partsOf(header: string): Map<string, string> | undefined {
  const parts = new Map<string, string>();
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if ((name === 't' || name === 's') && parts.has(name)) return undefined;
    parts.set(name, part.slice(eq + 1).trim());
  }
  return parts;
}

function signature(rawBody: Uint8Array, secret: string, t: string): Buffer {
  return createHmac('sha256', secret).update(`${t}.`, 'utf8').update(rawBody).digest();
}

/** An empty secret would let anyone sign: a configuration error, not a skip. */
function assertUsableSecret(secret: string): void {
  if (typeof secret !== 'string' || secret === '') {
    throw new Error('TikTok webhook verification needs a non-empty app secret (fail closed)');
  }
}
