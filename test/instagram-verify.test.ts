import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { answerMetaHandshake, signMetaBody, verifyMetaSignature } from '../src/channels/instagram/verify.js';

const SECRET = 'instagram-app-secret-for-tests';
const META_SECRET = 'meta-app-secret-for-tests';
const body = readFileSync(new URL('./fixtures/instagram/text.json', import.meta.url));

describe('verifyMetaSignature', () => {
  it('accepts a body signed with the configured secret', () => {
    expect(verifyMetaSignature(body, signMetaBody(body, SECRET), [SECRET])).toEqual({ ok: true, secretIndex: 0 });
  });

  it('accepts a match on any configured secret and tells which one matched', () => {
    expect(verifyMetaSignature(body, signMetaBody(body, META_SECRET), [SECRET, META_SECRET])).toEqual({ ok: true, secretIndex: 1 });
  });

  it('accepts upper-case hex', () => {
    const header = `sha256=${signMetaBody(body, SECRET).slice(7).toUpperCase()}`;
    expect(verifyMetaSignature(body, header, [SECRET])).toEqual({ ok: true, secretIndex: 0 });
  });

  it('signs strings and bytes alike', () => {
    const text = '{"object":"instagram","entry":[]}';
    expect(signMetaBody(text, SECRET)).toBe(signMetaBody(new TextEncoder().encode(text), SECRET));
    expect(signMetaBody(text, SECRET)).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('rejects a signature made with another secret as a mismatch', () => {
    expect(verifyMetaSignature(body, signMetaBody(body, 'someone-else'), [SECRET, META_SECRET])).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('reports a missing header as missing', () => {
    for (const header of [null, undefined, '']) {
      expect(verifyMetaSignature(body, header, [SECRET])).toEqual({ ok: false, reason: 'missing' });
    }
  });

  it('reports anything but sha256= and 64 hex digits as malformed', () => {
    const hex = signMetaBody(body, SECRET).slice(7);
    const headers = [
      `sha1=${hex.slice(0, 40)}`,
      hex,
      `sha256=${hex.slice(1)}`,
      `sha256=${hex}0`,
      `sha256=${hex.slice(1)}g`,
      ` sha256=${hex}`,
      `SHA256=${hex}`,
      `sha256=${hex},sha256=${hex}`,
    ];
    for (const header of headers) expect(verifyMetaSignature(body, header, [SECRET]), header).toEqual({ ok: false, reason: 'malformed' });
  });

  it('hashes the exact raw bytes: re-serialised JSON with unescaped characters does not verify', () => {
    // Meta escapes non-ASCII as \uXXXX; JSON.stringify(JSON.parse(raw)) writes the characters themselves.
    const raw = Buffer.from('{"object":"instagram","entry":[{"text":"caf\\u00e9"}]}');
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))));
    expect(verifyMetaSignature(reserialised, signMetaBody(raw, SECRET), [SECRET])).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('fails closed: throws when no secret, or an empty one, is configured', () => {
    const header = signMetaBody(body, SECRET);
    expect(() => verifyMetaSignature(body, header, [])).toThrow(/fail closed/);
    expect(() => verifyMetaSignature(body, header, [''])).toThrow(/fail closed/);
    expect(() => verifyMetaSignature(body, null, [])).toThrow(/fail closed/);
  });

  it('verifies the signature of any body', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string({ minLength: 1 }), (bytes, secret) => {
        expect(verifyMetaSignature(bytes, signMetaBody(bytes, secret), [secret])).toEqual({ ok: true, secretIndex: 0 });
      }),
    );
  });

  it('rejects a body with any single byte changed', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 2048 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, at, flip) => {
          const header = signMetaBody(bytes, SECRET);
          const tampered = Uint8Array.from(bytes);
          tampered[at % tampered.length]! ^= flip;
          expect(verifyMetaSignature(tampered, header, [SECRET])).toEqual({ ok: false, reason: 'mismatch' });
        },
      ),
    );
  });

  it('rejects a header with any single character changed (other than the case of a hex digit)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (bytes, at, replacement) => {
        const header = signMetaBody(bytes, SECRET);
        const i = at % header.length;
        fc.pre(replacement.toLowerCase() !== header[i]!.toLowerCase());
        const tampered = header.slice(0, i) + replacement + header.slice(i + 1);
        expect(verifyMetaSignature(bytes, tampered, [SECRET]).ok).toBe(false);
      }),
    );
  });
});

describe('answerMetaHandshake', () => {
  const handshake = (query: string) => new URLSearchParams(query);

  it('echoes the challenge when the mode is subscribe and the token matches', () => {
    expect(answerMetaHandshake(handshake('hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=tok-1'), ['tok-1'])).toBe('1158201444');
  });

  it('accepts any of the configured verify tokens', () => {
    expect(answerMetaHandshake(handshake('hub.mode=subscribe&hub.challenge=42&hub.verify_token=tok-2'), ['tok-1', 'tok-2'])).toBe('42');
  });

  it('refuses a wrong, missing or differently-cased token', () => {
    for (const token of ['&hub.verify_token=tok-3', '', '&hub.verify_token=', '&hub.verify_token=TOK-1', '&hub.verify_token=tok-1x']) {
      expect(answerMetaHandshake(handshake(`hub.mode=subscribe&hub.challenge=42${token}`), ['tok-1']), token).toBeNull();
    }
  });

  it('refuses a mode other than subscribe, and a missing challenge', () => {
    expect(answerMetaHandshake(handshake('hub.mode=unsubscribe&hub.challenge=42&hub.verify_token=tok-1'), ['tok-1'])).toBeNull();
    expect(answerMetaHandshake(handshake('hub.challenge=42&hub.verify_token=tok-1'), ['tok-1'])).toBeNull();
    expect(answerMetaHandshake(handshake('hub.mode=subscribe&hub.verify_token=tok-1'), ['tok-1'])).toBeNull();
  });

  it('refuses every token that is not configured', () => {
    fc.assert(
      fc.property(fc.string(), (token) => {
        fc.pre(token !== 'tok-1');
        const params = new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.challenge': '7', 'hub.verify_token': token });
        expect(answerMetaHandshake(params, ['tok-1'])).toBeNull();
      }),
    );
  });

  it('fails closed: throws when no verify token, or an empty one, is configured', () => {
    const params = handshake('hub.mode=subscribe&hub.challenge=42&hub.verify_token=');
    expect(() => answerMetaHandshake(params, [])).toThrow(/fail closed/);
    expect(() => answerMetaHandshake(params, [''])).toThrow(/fail closed/);
  });
});
