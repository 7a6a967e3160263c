/**
 * Webhook authentication for TikTok Shop pushes: header `Authorization: <hex>` where
 * hex = HMAC-SHA256(key = app_secret, message = app_key + raw body) (tiktok-shop.md key fact 15, §4 Verify). TikTok
 * names only the header (https://partner.tiktokshop.com/docv2/page/650512b42f024f02be19755f, linking to the signing
 * page); the formula is what five independent implementations use. No timestamp is signed: a replay is stopped by
 * the dedupe keys alone. Pure functions; the intake maps refusals onto DMB_ERR codes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignatureVerdict, WebhookVerifier } from '../../core/channel.js';

export type TikTokShopSignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'mismatch' };

export interface TikTokShopApp {
  appKey: string;
  appSecret: string;
}

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/**
 * Checks `Authorization` for this exact raw body. The header may carry the hex alone (what TikTok sends) and is
 * trimmed; anything else than 64 hex digits is `malformed`; a wrong HMAC is `mismatch` (constant-time compare).
 * Throws on an empty key or secret: verification never silently passes (fail closed).
 */
export function verifyTikTokShopSignature(rawBody: Uint8Array, header: string | null | undefined, app: TikTokShopApp): TikTokShopSignatureCheck {
  assertUsable(app);
  if (header === null || header === undefined || header.trim() === '') return { ok: false, reason: 'missing' };
  const hex = header.trim();
  if (!HEX_SHA256.test(hex)) return { ok: false, reason: 'malformed' };
  return timingSafeEqual(digest(rawBody, app), Buffer.from(hex, 'hex')) ? { ok: true } : { ok: false, reason: 'mismatch' };
}

/** The `Authorization` value TikTok Shop would send for this body: tests, the fake, the sandbox. */
export function signTikTokShopWebhook(raw: Uint8Array | string, app: TikTokShopApp): string {
  assertUsable(app);
  return digest(typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw, app).toString('hex');
}

/**
 * The verifier for every app of the configured shops (one app usually serves many shops). The signer is the app
 * key whose secret matched; a shop's connection accepts only its own app's signatures.
 */
export function tiktokShopVerifier(apps: readonly TikTokShopApp[]): WebhookVerifier {
  if (apps.length === 0) throw new Error('TikTok Shop webhook verification needs at least one app (fail closed)');
  const distinct = [...new Map(apps.map((a) => [`${a.appKey}\n${a.appSecret}`, a])).values()];
  distinct.forEach(assertUsable);
  return (raw, headers): SignatureVerdict => {
    // Headers.get is case-insensitive, as the reference asks (§4 Verify).
    const header = headers.get('authorization');
    let last: TikTokShopSignatureCheck = { ok: false, reason: 'mismatch' };
    for (const app of distinct) {
      last = verifyTikTokShopSignature(raw, header, app);
      if (last.ok) return { ok: true, signer: app.appKey };
      if (last.reason !== 'mismatch') break;
    }
    return { ok: false, reason: last.reason, message: REFUSALS[last.reason] };
  };
}

const REFUSALS: Record<'missing' | 'malformed' | 'mismatch', string> = {
  missing: 'the Authorization header with the TikTok Shop webhook signature is missing',
  malformed: 'the Authorization header is not a hex HMAC-SHA256 signature',
  mismatch: 'the webhook signature does not match any configured TikTok Shop app',
};

function digest(rawBody: Uint8Array, app: TikTokShopApp): Buffer {
  return createHmac('sha256', app.appSecret).update(app.appKey, 'utf8').update(rawBody).digest();
}

/** An empty secret would let anyone sign: a configuration error, not a skip. */
function assertUsable(app: TikTokShopApp): void {
  if (typeof app.appSecret !== 'string' || app.appSecret === '' || typeof app.appKey !== 'string' || app.appKey === '') {
    throw new Error('TikTok Shop webhook verification needs a non-empty app key and app secret (fail closed)');
  }
}
