/**
 * The channel part of `dmbridge doctor` against the fake Graph API and the fake TikTok API, which answer the
 * account, subscription, token-introspection and webhook-configuration calls as Meta and TikTok do (and refuse
 * what they refuse): one outcome per way a connection can be set up wrong, each failure with its fix, no secret in
 * what the operator reads.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INSTAGRAM_TOKEN_NAMESPACE } from '../src/channels/instagram/auth.js';
import type { InstagramConnection } from '../src/channels/instagram/config.js';
import { InstagramModule } from '../src/channels/instagram/index.js';
import { startFakeGraph, type FakeGraph, type FakeGraphOptions } from '../src/channels/instagram/sandbox/fake-graph.js';
import { TIKTOK_TOKEN_NAMESPACE, tiktokConfigFingerprint } from '../src/channels/tiktok/auth.js';
import type { TikTokConnection } from '../src/channels/tiktok/config.js';
import { TikTokModule } from '../src/channels/tiktok/index.js';
import { startFakeTikTok, type FakeTikTok, type FakeTikTokOptions } from '../src/channels/tiktok/sandbox/fake-tiktok.js';
import { tiktokShopConnectionSchema, type TikTokShopConnection } from '../src/channels/tiktok-shop/config.js';
import { TikTokShopModule } from '../src/channels/tiktok-shop/index.js';
import { startFakeTikTokShop, type FakeTikTokShop, type FakeTikTokShopOptions } from '../src/channels/tiktok-shop/sandbox/fake-tiktok-shop.js';
import { configSchema } from '../src/config/index.js';
import type { DoctorCheck, WebhookBase } from '../src/core/doctor.js';
import type { Store } from '../src/core/store.js';
import { silentLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { openStore } from '../src/store/open.js';
import { TEST, TIKTOK_TEST, rawTestConfig, tiktokTestConnection } from './helpers.js';

const DAY_MS = 24 * 60 * 60_000;
const PUBLIC = 'https://bridge.acme.example';
const TIKTOK_WEBHOOK = `${PUBLIC}/webhooks/tiktok`;

let store: Store;
const fakes: Array<{ close(): Promise<void> }> = [];
beforeAll(async () => {
  store = await openStore('sqlite::memory:');
});
afterAll(() => store.close());
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

type Over = { webhookBase?: WebhookBase | undefined };
const deps = (over: Over = {}) => ({ store, clock: Date.now, metrics: createMetrics(), logger: silentLogger, webhookBase: { url: PUBLIC, key: 'server.publicUrl' as const }, ...over });

function byName(checks: DoctorCheck[], part: string): DoctorCheck {
  const check = checks.find((c) => c.name.includes(part));
  expect(check, `a check named …${part}…`).toBeDefined();
  return check!;
}

/** Each check's name without the connection id, and whether it passed. */
const outcomes = (checks: DoctorCheck[]) => checks.map((c) => [c.name.replace(/^[\w.-]+: /, ''), c.ok]);

/** Every failure says what to change, and nothing the operator reads holds a credential. */
function expectReadable(checks: DoctorCheck[], secrets: string[]): void {
  for (const check of checks) if (!check.ok) expect(check.fix, check.name).toMatch(/\w{4,}/);
  const text = JSON.stringify(checks);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

// ---- Instagram ----

async function graph(over: Partial<FakeGraphOptions> = {}): Promise<FakeGraph> {
  const fake = await startFakeGraph({ accountId: TEST.accountId, accessToken: TEST.accessToken, accountName: 'acme.support', ...over });
  fakes.push(fake);
  return fake;
}

let nextId = 0;
function instagram(graphUrl: string, over: Record<string, unknown> = {}): InstagramConnection {
  const raw = rawTestConfig({ genesysUrl: 'http://127.0.0.1:9', graphUrl, store: 'sqlite::memory:' });
  const connection = { ...raw.connections[0]!, id: `acme-ig-${nextId++}`, ...over };
  return configSchema.parse({ ...raw, connections: [connection] }).connections[0] as InstagramConnection;
}

const instagramDoctor = (connection: InstagramConnection) => InstagramModule.doctor!(connection, deps());
const IG_SECRETS = [TEST.accessToken, TEST.appSecret];

describe('doctor, Instagram', () => {
  it('passes a token of the configured account whose app gets every field the bridge reads', async () => {
    const fake = await graph();
    const checks = await instagramDoctor(instagram(fake.url));
    expect(outcomes(checks)).toEqual([
      ['Instagram token is valid', true],
      ['Instagram token expiry', true],
      ['Instagram webhook fields are subscribed', true],
    ]);
    expect(byName(checks, 'token is valid').detail).toContain('acme.support');
    expect(byName(checks, 'expiry').detail).toContain('not known yet');
    expect(fake.refreshes).toEqual([]);
    expectReadable(checks, IG_SECRETS);
  });

  it('fails a token Meta refuses (190), telling which key to replace, and stops there', async () => {
    const fake = await graph();
    fake.revokeTokens();
    const connection = instagram(fake.url);
    const checks = await instagramDoctor(connection);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ ok: false, name: `${connection.id}: Instagram token is valid` });
    expect(checks[0]!.fix).toContain(`connections.${connection.id}.accessToken`);
    expectReadable(checks, IG_SECRETS);
  });

  it('fails a token of another account, naming both ids and the key to change', async () => {
    const fake = await graph({ accountId: '17841400000000999' });
    const connection = instagram(fake.url);
    const check = byName(await instagramDoctor(connection), 'token is valid');
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('17841400000000999');
    expect(check.detail).toContain(TEST.accountId);
    expect(check.fix).toContain(`connections.${connection.id}.accountId`);
  });

  it('names the fields the app is not subscribed to, and how to subscribe them', async () => {
    const fake = await graph({ subscribedFields: ['messages', 'message_reactions'] });
    const check = byName(await instagramDoctor(instagram(fake.url)), 'webhook fields');
    expect(check.ok).toBe(false);
    expect(check.detail).toBe('not subscribed: messaging_seen, messaging_postbacks');
    expect(check.fix).toContain(`POST /${TEST.accountId}/subscribed_apps?subscribed_fields=messages,messaging_seen,message_reactions,messaging_postbacks`);
  });

  it('says when no app at all is subscribed to the account', async () => {
    const fake = await graph();
    fake.setSubscribedFields([]);
    const check = byName(await instagramDoctor(instagram(fake.url)), 'webhook fields');
    expect(check).toMatchObject({ ok: false, detail: "no app is subscribed to this account's webhooks" });
  });

  it('needs message_echoes only when the brand’s own app replies are forwarded', async () => {
    const fake = await graph({ subscribedFields: ['messages', 'messaging_seen', 'message_reactions', 'messaging_postbacks'] });
    expect(byName(await instagramDoctor(instagram(fake.url)), 'webhook fields').ok).toBe(true);
    const forwarding = byName(await instagramDoctor(instagram(fake.url, { forwardAppReplies: true })), 'webhook fields');
    expect(forwarding).toMatchObject({ ok: false, detail: 'not subscribed: message_echoes' });
  });

  it('reports the expiry the bridge learnt, and fails once Meta refused to renew', async () => {
    const fake = await graph();
    const connection = instagram(fake.url);
    const expiresAt = Date.now() + 40 * DAY_MS;
    await store.putRecord(INSTAGRAM_TOKEN_NAMESPACE, connection.id, { accessToken: TEST.accessToken, expiresAt, refreshAt: expiresAt - 30 * DAY_MS, configFingerprint: 'x', updatedAt: Date.now() }, Date.now() + 365 * DAY_MS);
    const learnt = byName(await instagramDoctor(connection), 'expiry');
    expect(learnt.ok).toBe(true);
    expect(learnt.detail).toContain(new Date(expiresAt).toISOString());
    expect(learnt.detail).toMatch(/\((39|40) days\)/);

    const near = Date.now() + 3 * DAY_MS;
    await store.putRecord(INSTAGRAM_TOKEN_NAMESPACE, connection.id, { accessToken: TEST.accessToken, expiresAt: near, refreshAt: near - DAY_MS, configFingerprint: 'x', updatedAt: Date.now() }, Date.now() + 365 * DAY_MS);
    expect(byName(await instagramDoctor(connection), 'expiry').ok).toBe(false);
  });

  it('checks a Facebook Login connection against its Page', async () => {
    const fake = await graph({ login: 'facebook', pageId: '101000000000777', accountName: 'Acme Page' });
    const good = await instagramDoctor(instagram(fake.url, { login: 'facebook', pageId: '101000000000777' }));
    expect(good.every((c) => c.ok)).toBe(true);
    expect(byName(good, 'token is valid').detail).toContain('Acme Page (Facebook Login)');
    expect(byName(good, 'expiry').detail).toContain('does not expire');

    const other = byName(await instagramDoctor(instagram(fake.url, { login: 'facebook', pageId: '101000000000888' })), 'token is valid');
    expect(other.ok).toBe(false);
    expect(other.fix).toContain('pageId');
  });

  it('fails with a fix when the Graph API cannot be reached', async () => {
    const checks = await instagramDoctor(instagram('http://127.0.0.1:9'));
    expect(checks).toHaveLength(1);
    expect(checks[0]!.ok).toBe(false);
    expect(checks[0]!.fix).toContain('graphBaseUrl');
  });
});

// ---- TikTok ----

async function tiktokApi(over: Partial<FakeTikTokOptions> = {}): Promise<FakeTikTok> {
  const fake = await startFakeTikTok({ ...TIKTOK_TEST, webhookUrl: TIKTOK_WEBHOOK, ...over });
  fakes.push(fake);
  return fake;
}

function tiktok(apiUrl: string, over: Partial<TikTokConnection> = {}): TikTokConnection {
  return tiktokTestConnection(apiUrl, { id: `acme-tt-${nextId++}`, ...over });
}

const tiktokDoctor = (connection: TikTokConnection, over: Over = {}) => TikTokModule.doctor!(connection, deps(over));
const TT_SECRETS = [TIKTOK_TEST.appSecret, TIKTOK_TEST.accessToken, TIKTOK_TEST.refreshToken];

describe('doctor, TikTok', () => {
  it('passes a token of the business and an app webhook pointing at the bridge, refreshing nothing', async () => {
    const fake = await tiktokApi();
    const checks = await tiktokDoctor(tiktok(fake.url));
    expect(outcomes(checks)).toEqual([
      ['TikTok token is valid', true],
      ['TikTok token expiry', true],
      ['TikTok webhook points at the bridge', true],
    ]);
    expect(byName(checks, 'token is valid').detail).toContain(TIKTOK_TEST.businessId);
    expect(byName(checks, 'webhook').detail).toBe(TIKTOK_WEBHOOK);
    expect(fake.refreshes).toEqual([]);
    expectReadable(checks, TT_SECRETS);
  });

  it('says the webhook to set when the app has none, or another one', async () => {
    const fake = await tiktokApi({ webhookUrl: undefined });
    const none = byName(await tiktokDoctor(tiktok(fake.url)), 'webhook');
    expect(none).toMatchObject({ ok: false, detail: 'the app has no DIRECT_MESSAGE webhook' });
    expect(none.fix).toContain(TIKTOK_WEBHOOK);

    fake.setWebhookUrl('https://old-crm.example/tiktok');
    const elsewhere = byName(await tiktokDoctor(tiktok(fake.url)), 'webhook');
    expect(elsewhere).toMatchObject({ ok: false, detail: "the app's DIRECT_MESSAGE webhook is https://old-crm.example/tiktok" });
  });

  it('fails the webhook check with the app secret wrong, without printing it', async () => {
    const fake = await tiktokApi();
    const checks = await tiktokDoctor(tiktok(fake.url, { appSecret: 'not-the-app-secret-at-all' }));
    const check = byName(checks, 'webhook');
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('40001');
    expect(check.fix).toContain('appSecret');
    expectReadable(checks, [...TT_SECRETS, 'not-the-app-secret-at-all']);
  });

  it('cannot tell the webhook without server.publicUrl', async () => {
    const fake = await tiktokApi();
    const check = byName(await tiktokDoctor(tiktok(fake.url), { webhookBase: undefined }), 'webhook');
    expect(check.ok).toBe(false);
    expect(check.fix).toContain('server.publicUrl');
  });

  it('fails a token TikTok does not know (40105), with the way out', async () => {
    const fake = await tiktokApi({ accessToken: 'act.another-token' });
    const connection = tiktok(fake.url);
    const check = byName(await tiktokDoctor(connection), 'token is valid');
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('TikTok refused the access token');
    expect(check.fix).toContain(`connections.${connection.id}`);
  });

  it('passes an access token that expired as the bridge expects, since the refresh token renews it', async () => {
    const fake = await tiktokApi();
    fake.expireAccessToken();
    const connection = tiktok(fake.url);
    await store.putRecord(TIKTOK_TOKEN_NAMESPACE, connection.id, { accessToken: TIKTOK_TEST.accessToken, refreshToken: TIKTOK_TEST.refreshToken, expiresAt: Date.now() - 1000, refreshExpiresAt: Date.now() + 300 * DAY_MS, configFingerprint: 'x', updatedAt: Date.now() }, Date.now() + 365 * DAY_MS);
    const checks = await tiktokDoctor(connection);
    expect(byName(checks, 'token is valid')).toMatchObject({ ok: true });
    expect(byName(checks, 'token is valid').detail).toContain('renews it');
    expect(byName(checks, 'expiry').detail).toMatch(/refresh token: .*\((299|300) days\)/);
    expect(fake.refreshes).toEqual([]);
  });

  it('fails a token of another business, naming the key to change', async () => {
    const fake = await tiktokApi({ businessId: '-000zZzZ9999' });
    const connection = tiktok(fake.url);
    const check = byName(await tiktokDoctor(connection), 'token is valid');
    expect(check.ok).toBe(false);
    expect(check.detail).toBe(`the token belongs to business -000zZzZ9999, not ${TIKTOK_TEST.businessId}`);
    expect(check.fix).toContain(`connections.${connection.id}.businessId`);
  });

  it('fails when the refresh token is near its end or a refresh was already refused', async () => {
    const fake = await tiktokApi();
    const connection = tiktok(fake.url);
    const record = { accessToken: TIKTOK_TEST.accessToken, refreshToken: TIKTOK_TEST.refreshToken, configFingerprint: 'x', updatedAt: Date.now() };
    await store.putRecord(TIKTOK_TOKEN_NAMESPACE, connection.id, { ...record, refreshExpiresAt: Date.now() + 5 * DAY_MS }, Date.now() + 365 * DAY_MS);
    const near = byName(await tiktokDoctor(connection), 'expiry');
    expect(near.ok).toBe(false);
    expect(near.detail).toContain('after that nothing can be sent');

    await store.putRecord(TIKTOK_TOKEN_NAMESPACE, connection.id, { ...record, reauthorizationRequired: true, configFingerprint: tiktokConfigFingerprint(connection) }, Date.now() + 365 * DAY_MS);
    expect(byName(await tiktokDoctor(connection), 'expiry')).toMatchObject({ ok: false, detail: 'TikTok refused to refresh the tokens: the bridge stopped sending' });
  });
});


// ---- TikTok Shop ----

const SHOP_APP = { appKey: '68abcdefgh1ij', appSecret: 'tts-app-secret-for-tests' };
const SHOP_ID = '7494049642642441621';
const SHOP_WEBHOOK = `${PUBLIC}/webhooks/tiktok-shop`;

async function shopApi(over: Partial<FakeTikTokShopOptions> = {}): Promise<FakeTikTokShop> {
  const fake = await startFakeTikTokShop({ ...SHOP_APP, shopId: SHOP_ID, shopCipher: 'ROW_c', accessToken: 'TTP_a', refreshToken: 'TTP_r', ...over });
  fakes.push(fake);
  return fake;
}

function shop(apiUrl: string, over: Record<string, unknown> = {}): TikTokShopConnection {
  return tiktokShopConnectionSchema.parse({
    id: `acme-shop-${nextId++}`,
    channel: 'tiktok-shop',
    shopId: SHOP_ID,
    ...SHOP_APP,
    accessToken: 'TTP_a',
    refreshToken: 'TTP_r',
    apiBaseUrl: apiUrl,
    authBaseUrl: apiUrl,
    genesys: { integrationId: TEST.integrationId, webhookSecret: TEST.webhookSecret },
    ...over,
  });
}

const shopDoctor = (connection: TikTokShopConnection, over: Over = {}) => TikTokShopModule.doctor!(connection, deps(over));
const SHOP_SECRETS = [SHOP_APP.appSecret, 'TTP_a', 'TTP_r'];

describe('doctor, TikTok Shop', () => {
  it('passes a token that may act for the shop, refreshing nothing, and says which webhook URL must be set', async () => {
    const fake = await shopApi();
    const checks = await shopDoctor(shop(fake.url));
    expect(outcomes(checks)).toEqual([
      ['TikTok Shop shop is authorized', true],
      ['TikTok Shop token expiry', true],
      ['TikTok Shop chat notifications reach the bridge', true],
    ]);
    expect(byName(checks, 'authorized').detail).toBe('Acme (GB)');
    expect(byName(checks, 'notifications').detail).toContain(`it must be ${SHOP_WEBHOOK}`);
    expect(fake.refreshes).toEqual([]);
    expectReadable(checks, SHOP_SECRETS);
  });

  it('fails when the shop sends its chat notifications elsewhere, and passes once they come here', async () => {
    const fake = await shopApi({ shopWebhooks: { NEW_MESSAGE: 'https://old-helpdesk.example/tts' } });
    const connection = shop(fake.url);
    const elsewhere = byName(await shopDoctor(connection), 'notifications');
    expect(elsewhere).toMatchObject({ ok: false, detail: "the shop's NEW_MESSAGE notifications go to https://old-helpdesk.example/tts" });
    expect(elsewhere.fix).toContain(`"address":"${SHOP_WEBHOOK}"`);
    fake.setShopWebhook('NEW_MESSAGE', SHOP_WEBHOOK);
    expect(byName(await shopDoctor(connection), 'notifications')).toMatchObject({ ok: true, detail: `${SHOP_WEBHOOK} (the shop's own address)` });
  });

  it('fails a shop id the token may not act for, listing the ones it may', async () => {
    const fake = await shopApi();
    const connection = shop(fake.url, { shopId: '7494049642642440000' });
    const checks = await shopDoctor(connection);
    const check = byName(checks, 'authorized');
    expect(check.ok).toBe(false);
    expect(check.detail).toBe(`the token may act for ${SHOP_ID} (Acme), not 7494049642642440000`);
    expect(check.fix).toContain(`connections.${connection.id}.shopId`);
    expect(checks.some((c) => c.name.includes('notifications'))).toBe(false);
  });

  it('fails a token TikTok Shop refuses (105002) with the way to re-authorize, without renewing it', async () => {
    const fake = await shopApi();
    fake.expireAccessToken();
    const connection = shop(fake.url);
    const checks = await shopDoctor(connection);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ ok: false, name: `${connection.id}: TikTok Shop shop is authorized` });
    expect(checks[0]!.fix).toContain('authorize the app again');
    expect(fake.refreshes).toEqual([]);
    expectReadable(checks, SHOP_SECRETS);
  });

  it('fails with the keys to check when the app signature is refused (106001)', async () => {
    const fake = await shopApi();
    const connection = shop(fake.url, { appSecret: 'another-app-secret-value' });
    const [check] = await shopDoctor(connection);
    expect(check!.ok).toBe(false);
    expect(check!.fix).toContain('appSecret');
    expectReadable([check!], [...SHOP_SECRETS, 'another-app-secret-value']);
  });
});
