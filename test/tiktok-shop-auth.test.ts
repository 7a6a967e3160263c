import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TTS_TOKEN_NAMESPACE, TikTokShopTokens, tiktokShopConfigFingerprint, type TikTokShopTokenRecord } from '../src/channels/tiktok-shop/auth.js';
import { tiktokShopConnectionSchema, type TikTokShopConnection } from '../src/channels/tiktok-shop/config.js';
import { startFakeTikTokShop, type FakeTikTokShop } from '../src/channels/tiktok-shop/sandbox/fake-tiktok-shop.js';
import { PermanentError, RetryableError } from '../src/core/errors.js';
import { createMetrics } from '../src/metrics.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { capturedLogger } from './helpers.js';

const APP = { appKey: '68abcdefgh1ij', appSecret: 'tts-app-secret-for-tests' };
const SHOP = '7494049642642441621';
const ACCESS = 'TTP_configured_access';
const REFRESH = 'TTP_configured_refresh';
const DAY = 24 * 60 * 60_000;

let fake: FakeTikTokShop;
const stores: Array<ReturnType<typeof openSqliteStore>> = [];

beforeEach(async () => {
  fake = await startFakeTikTokShop({ ...APP, shopId: SHOP, shopCipher: 'ROW_cipher', accessToken: ACCESS, refreshToken: REFRESH });
});
afterEach(async () => {
  await fake.close();
  await Promise.all(stores.splice(0).map((s) => s.close()));
});
afterAll(async () => Promise.all(stores.map((s) => s.close())));

function connection(over: Partial<TikTokShopConnection> = {}): TikTokShopConnection {
  return tiktokShopConnectionSchema.parse({
    id: 'acme-shop',
    channel: 'tiktok-shop',
    shopId: SHOP,
    ...APP,
    accessToken: ACCESS,
    refreshToken: REFRESH,
    apiBaseUrl: fake.url,
    authBaseUrl: fake.url,
    genesys: { integrationId: 'i', webhookSecret: 'genesys-secret-0123456789' },
    ...over,
  });
}

function newStore() {
  const store = openSqliteStore(':memory:');
  stores.push(store);
  return store;
}

const stored = (store: ReturnType<typeof newStore>) => store.getRecord<TikTokShopTokenRecord>(TTS_TOKEN_NAMESPACE, 'acme-shop');

async function seed(store: ReturnType<typeof newStore>, record: Partial<TikTokShopTokenRecord>) {
  const value: TikTokShopTokenRecord = { accessToken: ACCESS, refreshToken: REFRESH, configFingerprint: tiktokShopConfigFingerprint({ accessToken: ACCESS, refreshToken: REFRESH }), updatedAt: Date.now(), ...record };
  await store.putRecord(TTS_TOKEN_NAMESPACE, 'acme-shop', value, Date.now() + 365 * DAY);
}

describe('TikTokShopTokens', () => {
  it('uses the configured token while its expiry is unknown, without refreshing', async () => {
    expect(await new TikTokShopTokens({ connection: connection(), store: newStore() }).getAccessToken()).toBe(ACCESS);
    expect(fake.refreshes).toEqual([]);
  });

  it('renews a day before expiry and persists the rotated refresh token with absolute expiries', async () => {
    const store = newStore();
    await seed(store, { expiresAt: Date.now() + DAY / 2 });
    const token = await new TikTokShopTokens({ connection: connection(), store }).getAccessToken();
    expect(token).toBe(fake.currentTokens().accessToken);
    expect(fake.refreshes).toEqual([expect.objectContaining({ refreshToken: REFRESH, ok: true })]);
    const record = await stored(store);
    expect(record).toMatchObject({ accessToken: token, refreshToken: fake.currentTokens().refreshToken });
    expect(record!.refreshToken).not.toBe(REFRESH);
    expect(record!.expiresAt! - Date.now()).toBeGreaterThan(6.9 * DAY);
    expect(record!.refreshExpiresAt! - Date.now()).toBeGreaterThan(364 * DAY);
  });

  it('refreshes once for many concurrent callers in one process', async () => {
    const store = newStore();
    const tokens = new TikTokShopTokens({ connection: connection(), store });
    const all = await Promise.all(Array.from({ length: 8 }, () => tokens.refresh({ rejected: ACCESS })));
    expect(new Set(all).size).toBe(1);
    expect(fake.refreshes).toHaveLength(1);
  });

  it('refreshes once across instances sharing a store (the lock), the others reading the stored token', async () => {
    const store = newStore();
    const instances = Array.from({ length: 4 }, (_v, i) => new TikTokShopTokens({ connection: connection(), store, owner: `instance-${i}` }));
    const all = await Promise.all(instances.map((t) => t.refresh({ rejected: ACCESS })));
    expect(new Set(all)).toEqual(new Set([fake.currentTokens().accessToken]));
    expect(fake.refreshes.filter((r) => r.ok)).toHaveLength(1);
  });

  it('keeps the refresh token when TikTok does not rotate it', async () => {
    await fake.close();
    fake = await startFakeTikTokShop({ ...APP, shopId: SHOP, shopCipher: 'c', accessToken: ACCESS, refreshToken: REFRESH, rotateRefreshToken: false });
    const store = newStore();
    await new TikTokShopTokens({ connection: connection(), store }).refresh();
    expect((await stored(store))!.refreshToken).toBe(REFRESH);
  });

  it('signals re-authorization when the refresh is refused: stored, gauge at 1, one error log, fast failures after', async () => {
    const store = newStore();
    await seed(store, { refreshToken: 'TTP_revoked' });
    const metrics = createMetrics();
    const log = capturedLogger('info');
    const tokens = new TikTokShopTokens({ connection: connection(), store, metrics, logger: log.logger });
    const error = await tokens.refresh().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/authorize the app again.*\(TikTok Shop error 105003, request_id /);
    expect(await tokens.reauthorizationRequired()).toBe(true);
    expect((await metrics.reauthorizationRequired.get()).values).toEqual([expect.objectContaining({ labels: { connection: 'acme-shop' }, value: 1 })]);
    await expect(tokens.getAccessToken()).rejects.toBeInstanceOf(PermanentError);
    expect(fake.refreshes).toHaveLength(1);
    expect(log.lines.filter((l) => l.includes('tiktok_shop.reauthorization_required'))).toHaveLength(1);
    expect(log.text()).not.toContain('TTP_revoked');
    expect(log.text()).not.toContain(APP.appSecret);
  });

  it('starts again from new configured tokens after re-authorization', async () => {
    const store = newStore();
    await seed(store, { reauthorizationRequired: true });
    const fresh = connection({ accessToken: 'TTP_new_access', refreshToken: 'TTP_new_refresh' });
    expect(await new TikTokShopTokens({ connection: fresh, store }).getAccessToken()).toBe('TTP_new_access');
  });

  it('treats a TikTok outage during refresh as retryable, changing nothing', async () => {
    const store = newStore();
    fake.failNext(1, 36009003, { on: 'refresh' });
    await expect(new TikTokShopTokens({ connection: connection(), store }).refresh()).rejects.toBeInstanceOf(RetryableError);
    expect(await stored(store)).toBeUndefined();
    fake.failNext(1, 0, { on: 'refresh', httpStatus: 503 });
    await expect(new TikTokShopTokens({ connection: connection(), store }).refresh()).rejects.toBeInstanceOf(RetryableError);
  });

  it('gives up waiting for another instance that holds the lock, as a retry', async () => {
    const store = newStore();
    await store.acquireLock('tiktok-shop-refresh:acme-shop', 'someone-else', Date.now() + 60_000);
    await expect(new TikTokShopTokens({ connection: connection(), store, lockWaitMs: 150 }).refresh()).rejects.toBeInstanceOf(RetryableError);
    expect(fake.refreshes).toEqual([]);
  });
});
