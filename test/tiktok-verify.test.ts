import { readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { signTikTokBody, verifyTikTokSignature } from '../src/channels/tiktok/verify.js';

const SECRET = 'tiktok-app-secret-for-tests';
const body = readFileSync(new URL('./fixtures/tiktok/text.json', import.meta.url));
const T = 1772443001;
/** `now` is epoch milliseconds; TikTok's `t` is seconds. */
const NOW = T * 1000;
const opts = { now: NOW, toleranceSec: 300 };

function hexOf(header: string): string {
  return /s=([0-9a-f]{64})/.exec(header)![1]!;
}

describe('verifyTikTokSignature', () => {
  it('accepts a body signed with the app secret and returns the signed timestamp', () => {
    expect(verifyTikTokSignature(body, signTikTokBody(body, SECRET, T), SECRET, opts)).toEqual({ ok: true, timestamp: T });
  });

  it('signs t + "." + the raw body with HMAC-SHA256, as TikTok documents', () => {
    const expected = createHmac('sha256', SECRET).update(`${T}.${body.toString('utf8')}`).digest('hex');
    expect(signTikTokBody(body, SECRET, T)).toBe(`t=${T},s=${expected}`);
  });

  it('signs strings and bytes alike', () => {
    const text = '{"event":"tiktok.ping","content":"{}"}';
    expect(signTikTokBody(text, SECRET, T)).toBe(signTikTokBody(new TextEncoder().encode(text), SECRET, T));
  });

  it('rejects a signature made with another secret as a mismatch', () => {
    expect(verifyTikTokSignature(body, signTikTokBody(body, 'someone-else', T), SECRET, opts)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects a body with one flipped byte as a mismatch', () => {
    const tampered = Buffer.from(body);
    tampered[100]! ^= 0x01;
    expect(verifyTikTokSignature(tampered, signTikTokBody(body, SECRET, T), SECRET, opts)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects a signature whose timestamp was changed, since t is signed too', () => {
    const forged = `t=${T + 1},s=${hexOf(signTikTokBody(body, SECRET, T))}`;
    expect(verifyTikTokSignature(body, forged, SECRET, opts)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('hashes the exact raw bytes: re-serialised JSON does not verify', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))));
    expect(verifyTikTokSignature(reserialised, signTikTokBody(body, SECRET, T), SECRET, opts)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('reports a missing header as missing', () => {
    for (const header of [null, undefined, '', '   ']) {
      expect(verifyTikTokSignature(body, header, SECRET, opts)).toEqual({ ok: false, reason: 'missing' });
    }
  });

  it('reports a header without exactly one t and one valid s as malformed', () => {
    const hex = hexOf(signTikTokBody(body, SECRET, T));
    const headers = [
      `s=${hex}`,
      `t=${T}`,
      `sha256=${hex}`,
      hex,
      `t=${T};s=${hex}`,
      `t=${T},s=${hex.slice(1)}`,
      `t=${T},s=${hex}0`,
      `t=${T},s=${hex.slice(1)}g`,
      `t=abc,s=${hex}`,
      `t=-${T},s=${hex}`,
      `t=${T}.5,s=${hex}`,
      `t=,s=${hex}`,
      `t=${T},s=${hex},s=${hex}`,
      `t=${T},t=${T},s=${hex}`,
      `T=${T},S=${hex}`,
    ];
    for (const header of headers) expect(verifyTikTokSignature(body, header, SECRET, opts), header).toEqual({ ok: false, reason: 'malformed' });
  });

  it('matches parts by name in any order, trims whitespace and ignores unknown parts', () => {
    const hex = hexOf(signTikTokBody(body, SECRET, T));
    const headers = [
      `s=${hex},t=${T}`,
      ` t = ${T} , s = ${hex} `,
      `v=1,t=${T},x=y=z,s=${hex},flag`,
      `s=${hex.toUpperCase()},t=${T}`,
    ];
    for (const header of headers) expect(verifyTikTokSignature(body, header, SECRET, opts), header).toEqual({ ok: true, timestamp: T });
  });

  it('accepts a timestamp up to the tolerance old and rejects an older one as stale', () => {
    const header = signTikTokBody(body, SECRET, T);
    expect(verifyTikTokSignature(body, header, SECRET, { now: (T + 300) * 1000, toleranceSec: 300 }).ok).toBe(true);
    expect(verifyTikTokSignature(body, header, SECRET, { now: (T + 300) * 1000 + 1, toleranceSec: 300 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyTikTokSignature(body, header, SECRET, { now: (T + 6) * 1000, toleranceSec: 5 })).toEqual({ ok: false, reason: 'stale' });
  });

  it('rejects a timestamp more than the allowed skew in the future as stale (2 s by default)', () => {
    const header = signTikTokBody(body, SECRET, T);
    expect(verifyTikTokSignature(body, header, SECRET, { now: (T - 2) * 1000, toleranceSec: 300 }).ok).toBe(true);
    expect(verifyTikTokSignature(body, header, SECRET, { now: (T - 2) * 1000 - 1, toleranceSec: 300 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyTikTokSignature(body, header, SECRET, { now: (T - 60) * 1000, toleranceSec: 300, futureSkewSec: 60 }).ok).toBe(true);
  });

  it('checks the HMAC before the age, so a forged old signature is a mismatch, not stale', () => {
    const forged = signTikTokBody(body, 'someone-else', T - 3600);
    expect(verifyTikTokSignature(body, forged, SECRET, opts)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('fails closed: throws when the secret is empty', () => {
    expect(() => verifyTikTokSignature(body, signTikTokBody(body, SECRET, T), '', opts)).toThrow(/fail closed/);
    expect(() => verifyTikTokSignature(body, null, '', opts)).toThrow(/fail closed/);
    expect(() => signTikTokBody(body, '', T)).toThrow(/fail closed/);
  });

  it('verifies the signature of any body with any secret', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 4_000_000_000 }), (bytes, secret, t) => {
        expect(verifyTikTokSignature(bytes, signTikTokBody(bytes, secret, t), secret, { now: t * 1000, toleranceSec: 300 })).toEqual({ ok: true, timestamp: t });
      }),
    );
  });

  it('rejects a body with any single byte changed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2048 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (bytes, at, flip) => {
        const header = signTikTokBody(bytes, SECRET, T);
        const tampered = Uint8Array.from(bytes);
        tampered[at % tampered.length]! ^= flip;
        expect(verifyTikTokSignature(tampered, header, SECRET, opts)).toEqual({ ok: false, reason: 'mismatch' });
      }),
    );
  });

  it('never passes a header with any single character changed (other than the case of a hex digit)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (bytes, at, replacement) => {
        const header = signTikTokBody(bytes, SECRET, T);
        const i = at % header.length;
        fc.pre(replacement.toLowerCase() !== header[i]!.toLowerCase());
        const tampered = header.slice(0, i) + replacement + header.slice(i + 1);
        expect(verifyTikTokSignature(bytes, tampered, SECRET, opts).ok).toBe(false);
      }),
    );
  });
});
