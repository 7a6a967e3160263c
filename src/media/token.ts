/**
 * Signed media tokens for the bridge's own /media/{token} route (design.md, Media): Genesys fetches
 * attachments by URL and cannot send the credentials a platform's media download needs, so the bridge hands it a URL
 * of its own that names the media and expires. The token is `payload.signature`, both base64url; the payload
 * is JSON and the signature is HMAC-SHA256 over the payload's base64url text. Nothing in it is secret, but
 * nobody without the key can make one: the route is no open proxy.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { MediaReference } from '../core/events.js';

const payloadSchema = z.object({
  /** Connection id. */
  c: z.string(),
  /** The channel's reference (src/core/events.ts MediaReference): flat strings only it interprets. */
  r: z.record(z.string(), z.string()),
  /** Expiry, epoch seconds. */
  e: z.number().int(),
});

export interface MediaGrant {
  connectionId: string;
  reference: MediaReference;
  expiresAt: number;
}

export function signMediaToken(grant: MediaGrant, key: Uint8Array): string {
  const payload = Buffer.from(
    JSON.stringify({ c: grant.connectionId, r: grant.reference, e: Math.floor(grant.expiresAt / 1000) }),
  ).toString('base64url');
  return `${payload}.${mac(payload, key)}`;
}

/** The grant, or why not: a token that is malformed, forged or expired names nothing. */
export function verifyMediaToken(
  token: string,
  key: Uint8Array,
  now: number,
): { ok: true; grant: MediaGrant } | { ok: false; reason: 'malformed' | 'forged' | 'expired' } {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(mac(payload, key));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'forged' };
  let parsed;
  try {
    parsed = payloadSchema.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!parsed.success) return { ok: false, reason: 'malformed' };
  if (parsed.data.e * 1000 < now) return { ok: false, reason: 'expired' };
  return { ok: true, grant: { connectionId: parsed.data.c, reference: parsed.data.r, expiresAt: parsed.data.e * 1000 } };
}

function mac(payload: string, key: Uint8Array): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}
