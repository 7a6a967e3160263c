import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { TIKTOK_TOKEN_NAMESPACE, TikTokTokens, tiktokConfigFingerprint, type TikTokTokenRecord, type TikTokTokensOptions } from '../src/channels/tiktok/auth.js';
import type { TikTokConnection } from '../src/channels/tiktok/config.js';
import { PermanentError } from '../src/core/errors.js';
import { createMetrics } from '../src/metrics.js';
import { startFakeTikTok, type FakeTikTok } from '../src/channels/tiktok/sandbox/fake-tiktok.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { Store } from '../src/core/store.js';
import { TIKTOK_TEST, capturedLogger, tiktokTestConnection } from './helpers.js';

const { appId: APP_ID, appSecret: APP_SECRET, businessId: BUSINESS, accessToken: ACCESS, refreshToken: REFRESH } = TIKTOK_TEST;
const MIN = 60_000;

let fake: FakeTikTok;
let stores: Store[] = [];

beforeEach(async () => {
  await fake?.close();
  fake = await startFakeTikTok({ appId: APP_ID, appSecret: APP_SECRET, businessId: BUSINESS, accessToken: ACCESS, refreshToken: REFRESH });
  await Promise.all(stores.map((s) => s.close()));
  stores = [];
});
afterAll(async () => {
  await fake.close();
  await Promise.all(stores.map((s) => s.close()));
});

function connection(over: Partial<TikTokConnection> = {}): TikTokConnection {
  return tiktokTestConnection(fake.url, over);
}

function newStore(): Store {
  const store = openSqliteStore(':memory:');
  stores.push(store);
  return store;
}

function tokens(store: Store, opts: Partial<TikTokTokensOptions> = {}) {
  return new TikTokTokens({ connection: connection(), store, ...opts });
}

/** Puts a token record in the store, as a previous refresh would have. */
async function seed(store: Store, record: Partial<TikTokTokenRecord>): Promise<void> {
  const value: TikTokTokenRecord = { accessToken: ACCESS, refreshToken: REFRESH, configFingerprint: tiktokConfigFingerprint({ accessToken: ACCESS, refreshToken: REFRESH }), updatedAt: Date.now(), ...record };
  await store.putRecord(TIKTOK_TOKEN_NAMESPACE, 'acme-tiktok', value, Date.now() + 24 * 60 * MIN);
}

const stored = (store: Store) => store.getRecord<TikTokTokenRecord>(TIKTOK_TOKEN_NAMESPACE, 'acme-tiktok');

describe('TikTokTokens', () => {
  it('uses the configured token as long as its expiry is unknown, without refreshing', async () => {
    const store = newStore();
    expect(await tokens(store).getAccessToken()).toBe(ACCESS);
    expect(fake.refreshes).toHaveLength(0);
  });

  it('refreshes before expiry (less than 5 minutes left) and persists the new access token', async () => {
    const store = newStore();
    await seed(store, { expiresAt: Date.now() + 4 * MIN });
    const t = tokens(store);
    const token = await t.getAccessToken();
    expect(fake.refreshes).toHaveLength(1);
    expect(token).toBe(fake.currentTokens().accessToken);
    expect(token).not.toBe(ACCESS);
    const record = await stored(store);
    expect(record).toMatchObject({ accessToken: token });
    expect(record!.expiresAt).toBeGreaterThan(Date.now() + 23 * 60 * MIN);
    expect(record!.refreshExpiresAt).toBeGreaterThan(Date.now() + 300 * 24 * 60 * MIN);
    // Still fresh: no second refresh.
    expect(await t.getAccessToken()).toBe(token);
    expect(fake.refreshes).toHaveLength(1);
  });

  it('does not refresh while more than 5 minutes remain', async () => {
    const store = newStore();
    await seed(store, { expiresAt: Date.now() + 6 * MIN });
    expect(await tokens(store).getAccessToken()).toBe(ACCESS);
    expect(fake.refreshes).toHaveLength(0);
  });

  it('persists the rotated refresh token and never presents the old one again', async () => {
    const store = newStore();
    const t = tokens(store);
    await t.refresh();
    const rotated = fake.currentTokens().refreshToken;
    expect(rotated).not.toBe(REFRESH);
    expect((await stored(store))!.refreshToken).toBe(rotated);
    // A second refresh (from another TikTokTokens on the same store, as after a restart) presents the rotated one.
    await tokens(store).refresh();
    expect(fake.refreshes.map((r) => r.refreshToken)).toEqual([REFRESH, rotated]);
    expect(fake.refreshes.every((r) => r.ok)).toBe(true);
  });

  it('sends client_id, client_secret and grant_type to /tt_user/oauth2/refresh_token/ and counts the call', async () => {
    const store = newStore();
    const metrics = createMetrics();
    await tokens(store, { metrics }).refresh();
    const counted = (await metrics.outboundRequests.get()).values.map((v) => ({ ...v.labels, value: v.value }));
    expect(counted).toEqual([{ target: 'tiktok', operation: 'token_refresh', status: '200', value: 1 }]);
  });

  it('runs one refresh for 20 concurrent callers', async () => {
    const store = newStore();
    await seed(store, { expiresAt: Date.now() + MIN });
    fake.setLatency(50);
    const t = tokens(store);
    const results = await Promise.all(Array.from({ length: 20 }, () => t.getAccessToken()));
    expect(fake.refreshes).toHaveLength(1);
    expect(new Set(results)).toEqual(new Set([fake.currentTokens().accessToken]));
  });

  it('runs one refresh for two instances on the same store: the other waits for the lock and reads the result', async () => {
    const store = newStore();
    await seed(store, { expiresAt: Date.now() + MIN });
    fake.setLatency(100);
    const a = tokens(store, { owner: 'instance-a' });
    const b = tokens(store, { owner: 'instance-b' });
    const results = await Promise.all([a.getAccessToken(), b.getAccessToken(), a.getAccessToken(), b.getAccessToken()]);
    expect(fake.refreshes).toHaveLength(1);
    expect(new Set(results)).toEqual(new Set([fake.currentTokens().accessToken]));
  });

  it('after a rejected token, a caller whose token another instance already replaced gets the new one without refreshing again', async () => {
    const store = newStore();
    const a = tokens(store, { owner: 'instance-a' });
    const b = tokens(store, { owner: 'instance-b' });
    const fresh = await a.refresh({ rejected: ACCESS });
    expect(await b.refresh({ rejected: ACCESS })).toBe(fresh);
    expect(fake.refreshes).toHaveLength(1);
  });

  it('enters "re-authorization required" when the refresh token is refused: logs once without tokens, calls the hook, throws an actionable PermanentError', async () => {
    const store = newStore();
    await seed(store, { refreshToken: 'rft.revoked', expiresAt: Date.now() + MIN });
    const { logger, lines } = capturedLogger('info');
    const hooked: string[] = [];
    const t = tokens(store, { logger, onReauthorizationRequired: (id) => hooked.push(id) });

    const error = await t.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).reason).toBe('GeneralError');
    expect((error as PermanentError).message).toMatch(/an administrator must re-authorize the TikTok account for dmbridge/);
    expect((error as PermanentError).message).toMatch(/\(TikTok error 40105, request_id \w+\)$/);
    expect(await t.reauthorizationRequired()).toBe(true);
    expect((await stored(store))!.reauthorizationRequired).toBe(true);

    // Later calls fail fast: no more refresh attempts, no second error log, no second hook call.
    await expect(t.getAccessToken()).rejects.toThrow(/re-authorize/);
    await expect(t.refresh()).rejects.toThrow(/re-authorize/);
    expect(fake.refreshes).toHaveLength(1);
    const errors = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 50);
    expect(errors).toEqual([expect.objectContaining({ msg: 'tiktok.reauthorization_required', connectionId: 'acme-tiktok' })]);
    expect(hooked).toEqual(['acme-tiktok']);
    const all = lines.join('');
    for (const secret of ['rft.revoked', ACCESS, APP_SECRET]) expect(all).not.toContain(secret);
  });

  it('leaves "re-authorization required" once an operator configures new tokens', async () => {
    const store = newStore();
    await seed(store, { reauthorizationRequired: true, configFingerprint: 'of-the-old-config' });
    const t = new TikTokTokens({ connection: connection({ accessToken: 'act.new', refreshToken: fake.currentTokens().refreshToken }), store });
    expect(await t.getAccessToken()).toBe('act.new');
  });

  it('a transient refresh failure (system error) is retryable and does not require re-authorization', async () => {
    const store = newStore();
    fake.failNext(1, 51065, 'System error', { on: 'refresh' });
    const t = tokens(store);
    const error = await t.refresh().catch((e: unknown) => e);
    expect((error as Error).name).toBe('RetryableError');
    expect(await t.reauthorizationRequired()).toBe(false);
    expect(await t.refresh()).toBe(fake.currentTokens().accessToken);
  });
});
