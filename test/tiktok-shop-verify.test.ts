import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signTikTokShopWebhook, tiktokShopVerifier, verifyTikTokShopSignature } from '../src/channels/tiktok-shop/verify.js';

/** Vector 5 of tiktok-shop.md §4: the keys of vector 2 and this exact body. */
const APP = { appKey: '68abcdefgh1ij', appSecret: '0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6' };
const body = readFileSync(new URL('./fixtures/tiktok-shop/text.json', import.meta.url));
const VECTOR_5 = '80a96f93f38194aa8643ac2612feffcbf8c991788c29507673453db789d61cbd';

describe('verifyTikTokShopSignature', () => {
  it('accepts the reference webhook signed over app_key + raw body (vector 5)', () => {
    expect(signTikTokShopWebhook(body, APP)).toBe(VECTOR_5);
    expect(verifyTikTokShopSignature(body, VECTOR_5, APP)).toEqual({ ok: true });
  });

  it('accepts upper-case hex and surrounding whitespace', () => {
    expect(verifyTikTokShopSignature(body, ` ${VECTOR_5.toUpperCase()} `, APP)).toEqual({ ok: true });
  });

  it('says missing for no header, malformed for anything but 64 hex digits', () => {
    expect(verifyTikTokShopSignature(body, undefined, APP)).toEqual({ ok: false, reason: 'missing' });
    expect(verifyTikTokShopSignature(body, '  ', APP)).toEqual({ ok: false, reason: 'missing' });
    expect(verifyTikTokShopSignature(body, `Bearer ${VECTOR_5}`, APP)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyTikTokShopSignature(body, `t=1,s=${VECTOR_5}`, APP)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyTikTokShopSignature(body, VECTOR_5.slice(1), APP)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rejects a signature of the body without the app key in front (the Business API formula)', () => {
    const withoutKey = createHmac('sha256', APP.appSecret).update(body).digest('hex');
    expect(verifyTikTokShopSignature(body, withoutKey, APP)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('hashes the exact raw bytes: re-serialised JSON does not verify', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8')), null, 1));
    expect(verifyTikTokShopSignature(reserialised, VECTOR_5, APP)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects any changed byte and any other secret (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: body.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const tampered = Buffer.from(body);
        tampered[at]! ^= flip;
        expect(verifyTikTokShopSignature(tampered, VECTOR_5, APP)).toEqual({ ok: false, reason: 'mismatch' });
      }),
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1 }).filter((s) => s !== APP.appSecret), (secret) => {
        expect(verifyTikTokShopSignature(body, signTikTokShopWebhook(body, { ...APP, appSecret: secret }), APP).ok).toBe(false);
      }),
    );
  });

  it('verifies what it signs, for any body (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (raw) => {
        expect(verifyTikTokShopSignature(raw, signTikTokShopWebhook(raw, APP), APP)).toEqual({ ok: true });
      }),
    );
  });

  it('fails closed: an empty secret or key throws instead of passing', () => {
    expect(() => verifyTikTokShopSignature(body, VECTOR_5, { ...APP, appSecret: '' })).toThrow(/fail closed/);
    expect(() => verifyTikTokShopSignature(body, VECTOR_5, { ...APP, appKey: '' })).toThrow(/fail closed/);
    expect(() => tiktokShopVerifier([])).toThrow(/fail closed/);
  });
});

describe('tiktokShopVerifier', () => {
  const other = { appKey: 'other-app', appSecret: 'other-secret' };
  const verify = tiktokShopVerifier([other, APP, APP]);

  it('names the app whose secret signed, reading the header case-insensitively', () => {
    expect(verify(body, new Headers({ AUTHORIZATION: VECTOR_5 }), 0)).toEqual({ ok: true, signer: APP.appKey });
    expect(verify(body, new Headers({ authorization: signTikTokShopWebhook(body, other) }), 0)).toEqual({ ok: true, signer: 'other-app' });
  });

  it('refuses with a reason and a sentence for the refusal body', () => {
    expect(verify(body, new Headers(), 0)).toMatchObject({ ok: false, reason: 'missing' });
    expect(verify(body, new Headers({ authorization: 'nope' }), 0)).toMatchObject({ ok: false, reason: 'malformed' });
    const forged = verify(body, new Headers({ authorization: signTikTokShopWebhook(body, { appKey: 'x', appSecret: 'y' }) }), 0);
    expect(forged).toEqual({ ok: false, reason: 'mismatch', message: expect.stringContaining('does not match') });
  });
});
