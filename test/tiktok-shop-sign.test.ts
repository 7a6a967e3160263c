import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signTikTokShopRequest, signedTikTokShopUrl, tiktokShopStringToSign } from '../src/channels/tiktok-shop/sign.js';

/** The reference's worked vectors (tiktok-shop.md §2). */
const V2 = {
  appKey: '68abcdefgh1ij',
  appSecret: '0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6',
  timestamp: '1772443000',
  shopCipher: 'ROW_AbCdEfAAAAAexample0123',
  path: '/customer_service/202309/conversations/7494560109732334262/messages',
  body: '{"type":"TEXT","content":"{\\"content\\":\\"Your parcel ships today.\\"}"}',
};

describe('TikTok Shop request signing', () => {
  it('reproduces the vendor vector for GET /authorization/202309/shops (vector 1)', () => {
    const input = { appSecret: 'e59af819cc', path: '/authorization/202309/shops', query: { app_key: '29a39d', timestamp: '1623812664' } };
    expect(tiktokShopStringToSign(input)).toBe('e59af819cc/authorization/202309/shopsapp_key29a39dtimestamp1623812664e59af819cc');
    expect(signTikTokShopRequest(input)).toBe('b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8');
  });

  it('signs a Send Message body byte for byte after the sorted parameters (vector 2)', () => {
    const input = { appSecret: V2.appSecret, path: V2.path, query: { timestamp: V2.timestamp, shop_cipher: V2.shopCipher, app_key: V2.appKey }, body: V2.body };
    expect(tiktokShopStringToSign(input)).toBe(
      `${V2.appSecret}${V2.path}app_key${V2.appKey}shop_cipher${V2.shopCipher}timestamp${V2.timestamp}${V2.body}${V2.appSecret}`,
    );
    expect(signTikTokShopRequest(input)).toBe('9d97218c9667b27083a2155d0077af778a5035acea55c252af815ffb40c8d036');
    expect(signTikTokShopRequest({ ...input, body: new TextEncoder().encode(V2.body) })).toBe('9d97218c9667b27083a2155d0077af778a5035acea55c252af815ffb40c8d036');
  });

  it('signs a GET with paging parameters and no body (vector 3)', () => {
    const query = { app_key: V2.appKey, timestamp: V2.timestamp, shop_cipher: V2.shopCipher, page_size: '10', sort_order: 'ASC' };
    expect(signTikTokShopRequest({ appSecret: V2.appSecret, path: V2.path, query })).toBe('17a05dc0f576d208a3e189da2991fcd95fe0365b93834a28c36c549db6683c64');
  });

  it('builds the URL of vector 2 with the sign last and the token nowhere in it', () => {
    const url = signedTikTokShopUrl('https://open-api.tiktokglobalshop.com/', {
      appSecret: V2.appSecret,
      path: V2.path,
      query: { app_key: V2.appKey, shop_cipher: V2.shopCipher, timestamp: V2.timestamp, access_token: 'TTP_AbCdEf0123' },
      body: V2.body,
    });
    expect(url).toBe(
      `https://open-api.tiktokglobalshop.com${V2.path}?app_key=${V2.appKey}&shop_cipher=${V2.shopCipher}&timestamp=${V2.timestamp}&sign=9d97218c9667b27083a2155d0077af778a5035acea55c252af815ffb40c8d036`,
    );
  });

  it('leaves sign, access_token and empty parameters out of the signature', () => {
    const base = { appSecret: 'secret', path: '/customer_service/202309/conversations', query: { app_key: 'k', timestamp: '1', page_size: '20' } };
    const noisy = { ...base, query: { ...base.query, sign: 'old', access_token: 'TTP_x', page_token: '' } };
    expect(signTikTokShopRequest(noisy)).toBe(signTikTokShopRequest(base));
    expect(new URL(signedTikTokShopUrl('https://h', noisy)).searchParams.has('page_token')).toBe(false);
  });

  it('is HMAC-SHA256 keyed with the secret over the wrapped string, for any parameters (property)', () => {
    const key = fc.stringMatching(/^[a-z_]{1,12}$/);
    fc.assert(
      fc.property(fc.dictionary(key, fc.string({ minLength: 1, maxLength: 20 })), fc.string(), fc.string({ minLength: 1, maxLength: 40 }), (query, body, secret) => {
        const input = { appSecret: secret, path: '/p/202309/x', query, body };
        const expected = createHmac('sha256', secret).update(tiktokShopStringToSign(input), 'utf8').digest('hex');
        expect(signTikTokShopRequest(input)).toBe(expected);
      }),
    );
  });

  it('does not depend on the order the parameters are given in (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.stringMatching(/^[A-Za-z0-9]{1,8}$/)), { selector: (e) => e[0] }), (entries) => {
        const input = (list: Array<[string, string]>) => ({ appSecret: 's', path: '/a', query: Object.fromEntries(list) });
        expect(signTikTokShopRequest(input([...entries].reverse()))).toBe(signTikTokShopRequest(input(entries)));
      }),
    );
  });

  it('refuses to sign with an empty secret', () => {
    expect(() => signTikTokShopRequest({ appSecret: '', path: '/a', query: {} })).toThrow(/non-empty app secret/);
  });
});
