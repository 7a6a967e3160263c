import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TikTokShopClient } from '../src/channels/tiktok-shop/api-client.js';
import { TTS_SHOP_NAMESPACE, TikTokShopTokens } from '../src/channels/tiktok-shop/auth.js';
import { tiktokShopConnectionSchema, type TikTokShopConnection } from '../src/channels/tiktok-shop/config.js';
import { startFakeTikTokShop, type FakeTikTokShop } from '../src/channels/tiktok-shop/sandbox/fake-tiktok-shop.js';
import { textBody } from '../src/channels/tiktok-shop/send.js';
import { signTikTokShopRequest } from '../src/channels/tiktok-shop/sign.js';
import { PermanentError, PlatformRefusal, RetryableError } from '../src/core/errors.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { capturedLogger, rejectionOf } from './helpers.js';

const APP = { appKey: '68abcdefgh1ij', appSecret: 'tts-app-secret-for-tests' };
const SHOP = '7494049642642441621';
const CIPHER = 'ROW_AbCdEfAAAAAexample0123';
const ACCESS = 'TTP_configured_access';
const CONVERSATION = '7494560109732334262';
const BUYER = { imUserId: '7494560109732330001', userId: '7494560109732334001', nickname: 'Jane Doe', avatar: 'https://p16/jane.jpg' };

let fake: FakeTikTokShop;
let store: ReturnType<typeof openSqliteStore>;

beforeEach(async () => {
  fake = await startFakeTikTokShop({ ...APP, shopId: SHOP, shopCipher: CIPHER, accessToken: ACCESS, refreshToken: 'TTP_refresh', conversations: [{ id: CONVERSATION, buyer: BUYER }] });
  store = openSqliteStore(':memory:');
});
afterEach(async () => {
  await fake.close();
  await store.close();
});

function connection(over: Partial<TikTokShopConnection> = {}): TikTokShopConnection {
  return tiktokShopConnectionSchema.parse({
    id: 'acme-shop', channel: 'tiktok-shop', shopId: SHOP, ...APP, accessToken: ACCESS, refreshToken: 'TTP_refresh',
    apiBaseUrl: fake.url, authBaseUrl: fake.url, genesys: { integrationId: 'i', webhookSecret: 'genesys-secret-0123456789' }, ...over,
  });
}

function client(over: Partial<TikTokShopConnection> = {}, logger = capturedLogger('debug').logger) {
  const c = connection(over);
  return new TikTokShopClient({ connection: c, tokens: new TikTokShopTokens({ connection: c, store }), store, logger });
}

describe('TikTokShopClient', () => {
  it('sends a signed text with the token header and the shop cipher found through the authorized shops', async () => {
    const result = await client().sendMessage(CONVERSATION, textBody('Your parcel ships today.'));
    expect(result.messageId).toBe(fake.sends[0]!.messageId);
    expect(fake.sends[0]).toMatchObject({ conversationId: CONVERSATION, accessToken: ACCESS, body: { type: 'TEXT', content: '{"content":"Your parcel ships today."}' } });
    expect(fake.traffic).toEqual(['GET /authorization/202309/shops → 0', `POST /customer_service/202309/conversations/${CONVERSATION}/messages → 0`]);
    expect(await store.getRecord(TTS_SHOP_NAMESPACE, 'acme-shop')).toEqual({ cipher: CIPHER, region: 'GB', name: 'Acme' });
  });

  it('keeps the cipher in a record: a second client does not ask for the shops again', async () => {
    await client().sendMessage(CONVERSATION, textBody('one'));
    await client().sendMessage(CONVERSATION, textBody('two'));
    expect(fake.traffic.filter((t) => t.includes('/authorization/'))).toHaveLength(1);
  });

  it('looks the cipher up again once when TikTok refuses it (106013)', async () => {
    await store.putRecord(TTS_SHOP_NAMESPACE, 'acme-shop', { cipher: 'ROW_stale' }, Date.now() + 60_000);
    await client().sendMessage(CONVERSATION, textBody('hi'));
    expect(fake.traffic).toEqual([
      `POST /customer_service/202309/conversations/${CONVERSATION}/messages → 106013`,
      'GET /authorization/202309/shops → 0',
      `POST /customer_service/202309/conversations/${CONVERSATION}/messages → 0`,
    ]);
  });

  it('fails with an administrator sentence when the token does not cover the shop', async () => {
    const error = await client({ shopId: '7000000000000000001' }).sendMessage(CONVERSATION, textBody('hi')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/does not include shop 7000000000000000001/);
  });

  it('refreshes an expired token once (105002) and repeats the call with the new one', async () => {
    fake.expireAccessToken();
    await client().sendMessage(CONVERSATION, textBody('hi'));
    expect(fake.refreshes).toHaveLength(1);
    expect(fake.sends[0]!.accessToken).toBe(fake.currentTokens().accessToken);
  });

  it('maps a closed conversation to MessageExpired, without retrying', async () => {
    fake.closeConversation(CONVERSATION);
    const error = await client().sendMessage(CONVERSATION, textBody('hi')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).reason).toBe('MessageExpired');
    expect(fake.traffic.filter((t) => t.endsWith('45109001'))).toHaveLength(1);
  });

  it('pauses the shop on HTTP 429 and on the daily quota, and alerts the operator on the quota', async () => {
    fake.failNext(1, 36009002, { httpStatus: 429 });
    await expect(client().sendMessage(CONVERSATION, textBody('hi'))).rejects.toMatchObject({ reason: 'RateLimited', pauseKey: `tiktok-shop:${SHOP}` });
    fake.failNext(1, 45101004);
    const log = capturedLogger('info');
    const error = (await client({}, log.logger).sendMessage(CONVERSATION, textBody('hi')).catch((e: unknown) => e)) as RetryableError;
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.pauseKey).toBe(`tiktok-shop:${SHOP}`);
    expect(log.lines.find((l) => l.includes('"code":45101004'))).toMatch(/"level":50/);
    expect(log.text()).not.toContain('Your parcel');
  });

  it('never logs the token, the secret or the signed URL', async () => {
    const log = capturedLogger('trace');
    fake.expireAccessToken();
    await client({}, log.logger).sendMessage(CONVERSATION, textBody('secret words'));
    expect(log.text()).not.toContain(ACCESS);
    expect(log.text()).not.toContain(APP.appSecret);
    expect(log.text()).not.toContain('sign=');
    expect(log.text()).not.toContain('secret words');
  });

  it('uploads an image as multipart field data and sends it as IMAGE', async () => {
    const jpeg = fake.mediaBytes('x');
    const c = client();
    const uploaded = await c.uploadImage(jpeg, 'image/jpeg', 'parcel.jpg');
    expect(fake.uploads).toEqual([{ url: uploaded.url, bytes: jpeg.length, mime: 'image/jpeg', filename: 'parcel.jpg' }]);
    expect(uploaded).toMatchObject({ width: 1280, height: 720 });
  });

  it('marks the conversation read without a body, or with a signed {} when configured', async () => {
    await client().markRead(CONVERSATION);
    await client({ markReadBody: 'empty-object' }).markRead(CONVERSATION);
    expect(fake.reads).toEqual([CONVERSATION, CONVERSATION]);
  });

  it('finds a conversation by paging the list (20 a page) and reads its buyer', async () => {
    for (let i = 0; i < 45; i++) fake.addConversation({ id: `75000000000000${String(i).padStart(5, '0')}`, buyer: { ...BUYER, userId: `u${i}` } });
    const found = await client().findConversation(CONVERSATION);
    expect(found).toEqual({ id: CONVERSATION, canSendMessage: true, buyer: BUYER });
    expect(fake.traffic.filter((t) => t.startsWith('GET /customer_service/202309/conversations'))).toHaveLength(3);
  });

  it('reopens a conversation the bridge counts closed through Create Conversation with the buyer user id', async () => {
    fake.closeConversation(CONVERSATION);
    const c = client();
    expect(await c.prepareReply(CONVERSATION, { closedAt: Date.now() - 60_000 })).toBe(CONVERSATION);
    expect(fake.creates).toEqual([BUYER.userId]);
    await c.sendMessage(CONVERSATION, textBody('back again'));
    expect(fake.sends).toHaveLength(1);
  });

  it('checks an open conversation without reopening it', async () => {
    expect(await client().prepareReply(CONVERSATION)).toBe(CONVERSATION);
    expect(fake.traffic.filter((t) => !t.startsWith('GET /authorization'))).toEqual(['GET /customer_service/202309/conversations → 0']);
  });

  it('refuses before sending when TikTok says the seller may not write in the conversation, as a platform refusal', async () => {
    fake.addConversation({ id: '7500000000000000001', buyer: { ...BUYER, userId: 'u-gone' }, canSendMessage: false });
    const closed = await rejectionOf(client().prepareReply('7500000000000000001', { closedAt: Date.now() - 60_000 }));
    expect(closed).toBeInstanceOf(PlatformRefusal);
    expect(closed).toMatchObject({ reason: 'MessageNotAllowed', message: expect.stringMatching(/closed at .* last 30 days.*last 60 days/) });
    const open = await rejectionOf(client().prepareReply('7500000000000000001'));
    expect(open).toMatchObject({ name: 'PlatformRefusal', reason: 'MessageExpired', message: expect.stringMatching(/closed earlier than the bridge counted/) });
    expect(fake.creates).toEqual([]);
    expect(fake.sends).toEqual([]);
  });

  it('finds the current URL of an image message', async () => {
    const { messageId } = await fake.buyerSends(CONVERSATION, { type: 'IMAGE', content: { width: '304', height: '290' } });
    const url = await client().freshMediaUrl(CONVERSATION, messageId);
    expect(url).toMatch(new RegExp(`^${fake.url}/im-media/`));
  });

  it('spaces the calls of one API to maxRequestsPerSecond', async () => {
    const c = client({ maxRequestsPerSecond: 5 });
    const started = Date.now();
    await Promise.all([1, 2, 3, 4].map((i) => c.sendMessage(CONVERSATION, textBody(`n${i}`))));
    // Four sends at 5 a second: the last one starts 600 ms after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(600 - 5);
    expect(fake.sends).toHaveLength(4);
  });

});

describe('the fake TikTok Shop refuses what the real one refuses', () => {
  async function raw(path: string, over: { query?: Record<string, string>; token?: string; sign?: string; body?: string; method?: string } = {}) {
    const query = { app_key: APP.appKey, timestamp: String(Math.floor(Date.now() / 1000)), shop_cipher: CIPHER, ...over.query };
    const sign = over.sign ?? signTikTokShopRequest({ appSecret: APP.appSecret, path, query, ...(over.body ? { body: over.body } : {}) });
    const res = await fetch(`${fake.url}${path}?${new URLSearchParams({ ...query, sign })}`, {
      method: over.method ?? 'GET',
      headers: { 'x-tts-access-token': over.token ?? ACCESS, 'content-type': 'application/json' },
      ...(over.body ? { body: over.body } : {}),
    });
    const text = await res.text();
    return { status: res.status, code: (JSON.parse(text.startsWith('{') ? text : '{}') as { code?: number }).code };
  }
  const list = '/customer_service/202309/conversations';

  it('accepts a correctly signed call', async () => {
    expect(await raw(list, { query: { page_size: '20' } })).toEqual({ status: 200, code: 0 });
  });

  it('refuses a bad signature with 106001', async () => {
    expect((await raw(list, { query: { page_size: '20' }, sign: 'f'.repeat(64) })).code).toBe(106001);
  });

  it('refuses a body that differs from the signed one with 106001', async () => {
    const path = `/customer_service/202309/conversations/${CONVERSATION}/messages`;
    const signedBody = JSON.stringify(textBody('hello'));
    const sign = signTikTokShopRequest({ appSecret: APP.appSecret, path, query: { app_key: APP.appKey, timestamp: String(Math.floor(Date.now() / 1000)), shop_cipher: CIPHER }, body: signedBody });
    expect((await raw(path, { method: 'POST', body: JSON.stringify(textBody('hellO')), sign })).code).toBe(106001);
  });

  it('refuses a wrong or missing token with 105002, a stale timestamp with 36009004', async () => {
    expect((await raw(list, { query: { page_size: '20' }, token: 'TTP_wrong' })).code).toBe(105002);
    expect((await raw(list, { query: { page_size: '20', timestamp: String(Math.floor(Date.now() / 1000) - 600) } })).code).toBe(36009004);
  });

  it('refuses a missing or foreign shop cipher with 106013, and page sizes over the limit', async () => {
    expect((await raw(list, { query: { page_size: '20', shop_cipher: 'ROW_other' } })).code).toBe(106013);
    expect((await raw(list, { query: { page_size: '21' } })).code).toBe(45101001);
  });

  it('answers an unknown path with HTTP 404, which the client reports as a configuration problem', async () => {
    expect((await raw('/customer_service/202309/conversationz', { query: { page_size: '20' } })).status).toBe(404);
    const error = await client({ apiBaseUrl: `${fake.url}/wrong-prefix` }).sendMessage(CONVERSATION, textBody('hi')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/check the connection's apiBaseUrl/);
  });
});
