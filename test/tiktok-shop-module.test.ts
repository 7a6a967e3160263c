import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { TikTokShopModule } from '../src/channels/tiktok-shop/index.js';
import { tiktokShopConnectionSchema, type TikTokShopConnection } from '../src/channels/tiktok-shop/config.js';
import { TTS_ATTR } from '../src/channels/tiktok-shop/parse.js';
import { signTikTokShopWebhook } from '../src/channels/tiktok-shop/verify.js';
import type { InboundEvent, InboundMessage } from '../src/core/events.js';
import { silentLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { listenOnLoopback } from '../src/net/loopback.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { testMedia } from './helpers.js';

const APP = { appKey: '68abcdefgh1ij', appSecret: '0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6' };
const SHOP = '7494049642642441621';
const raw = (name: string) => readFileSync(new URL(`./fixtures/tiktok-shop/${name}.json`, import.meta.url));

function connection(over: Record<string, unknown> = {}): TikTokShopConnection {
  return tiktokShopConnectionSchema.parse({
    id: 'acme-shop', channel: 'tiktok-shop', shopId: SHOP, ...APP, accessToken: 'TTP_a', refreshToken: 'TTP_r',
    genesys: { integrationId: 'i', webhookSecret: 'genesys-secret-0123456789' }, ...over,
  });
}

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('TikTokShopModule', () => {
  it('names itself and its route as the registry expects', () => {
    expect(TikTokShopModule.name).toBe('tiktok-shop');
    expect(TikTokShopModule.labels).toEqual({ source: 'TikTok Shop chat', platform: 'TikTok Shop', app: 'TikTok Shop Seller Center' });
    expect(TikTokShopModule.webhook.path).toBe('/webhooks/tiktok-shop');
    expect(TikTokShopModule.accountId(connection())).toBe(SHOP);
    expect(TikTokShopModule.webhook.signers(connection())).toEqual([APP.appKey]);
    expect(TikTokShopModule.mediaKeyMaterial!(connection())).toEqual([APP.appSecret]);
  });

  it('fills the documented defaults and refuses unknown keys, numeric shop ids and order links without {orderId}', () => {
    expect(connection()).toMatchObject({
      apiBaseUrl: 'https://open-api.tiktokglobalshop.com',
      authBaseUrl: 'https://auth.tiktok-shops.com',
      forwardAppReplies: false,
      markReadBody: 'none',
      reopenClosedConversations: true,
      maxRequestsPerSecond: 40,
    });
    const base = { id: 'a', channel: 'tiktok-shop', shopId: SHOP, ...APP, accessToken: 'a', refreshToken: 'r', genesys: { integrationId: 'i', webhookSecret: 'genesys-secret-0123456789' } };
    expect(tiktokShopConnectionSchema.safeParse({ ...base, shop: SHOP }).success).toBe(false);
    expect(tiktokShopConnectionSchema.safeParse({ ...base, shopId: 7494049642642441621 }).success).toBe(false);
    expect(tiktokShopConnectionSchema.safeParse({ ...base, orderUrlTemplate: 'https://seller-uk.tiktok.com/order' }).success).toBe(false);
    expect(tiktokShopConnectionSchema.safeParse({ ...base, appSecret: '' }).success).toBe(false);
  });

  it('names each cross-connection problem by its key', () => {
    const a = connection();
    const b = connection({ id: 'acme-shop-2', appSecret: 'another-secret' });
    expect(TikTokShopModule.configProblems!([a, b], {})).toEqual([
      'connections.acme-shop-2.appSecret: differs from another connection with the same appKey',
      'server.publicUrl: required with a TikTok Shop connection (Genesys fetches buyer images from the bridge)',
    ]);
    expect(TikTokShopModule.configProblems!([a], { publicUrl: 'https://bridge.example' })).toEqual([]);
  });

  it('verifies, parses with the configured order link, and acknowledges with an empty 200', async () => {
    const configured = [connection({ orderUrlTemplate: 'https://seller-uk.tiktok.com/order/detail?order_no={orderId}&shop_region=GB' })];
    const verify = TikTokShopModule.webhook.verifier(configured);
    const body = raw('order-card');
    expect(verify(body, new Headers({ authorization: signTikTokShopWebhook(body, APP) }), Date.now())).toEqual({ ok: true, signer: APP.appKey });
    expect(verify(body, new Headers({ authorization: signTikTokShopWebhook(body, { ...APP, appSecret: 'x' }) }), Date.now())).toMatchObject({ ok: false, reason: 'mismatch' });
    const message = TikTokShopModule.webhook.parse(JSON.parse(body.toString('utf8')), configured).events[0] as InboundMessage;
    expect(message.text).toContain('https://seller-uk.tiktok.com/order/detail?order_no=576000000000000001&shop_region=GB');
    expect(message.attributes[TTS_ATTR.orderId]).toBe('576000000000000001');
    const ack = TikTokShopModule.webhook.acknowledge();
    expect(ack.status).toBe(200);
    expect(await ack.text()).toBe('');
  });

  it('fails closed: no verifier without a connection', () => {
    expect(() => TikTokShopModule.webhook.verifier([])).toThrow(/fail closed/);
  });

  it('gives the reply-window end for routing, and classifies answers with the shop pause key', () => {
    const t = Date.UTC(2026, 2, 2, 8);
    expect(TikTokShopModule.replyWindow({}, connection())).toEqual({});
    expect(TikTokShopModule.replyWindow({ lastInboundAt: t, repliesSinceCustomer: 1 }, connection())).toEqual({ endsAt: t + 6 * 60 * 60 * 1000 });
    const error = TikTokShopModule.classifyError(429, '', { connection: connection(), now: t });
    expect(error).toMatchObject({ reason: 'RateLimited', pauseKey: `tiktok-shop:${SHOP}` });
    expect(TikTokShopModule.classifyError(200, '{"code":0,"message":"ok","request_id":"r","data":{}}', { connection: connection(), now: t })).toBeUndefined();
  });

  it('reads the buyer profile from the conversation participants', async () => {
    const sandbox = await TikTokShopModule.sandbox!();
    const fake = await sandbox.startFake({ bridgeUrl: 'http://127.0.0.1:9' });
    closers.push(() => fake.close());
    const store = openSqliteStore(':memory:');
    closers.push(() => store.close());
    const c = TikTokShopModule.configSchema.parse(sandbox.connection(fake.url));
    const { profile } = TikTokShopModule.connect(c, { store, clock: Date.now, metrics: createMetrics(), logger: silentLogger, ...testMedia({ origins: [fake.url] }) });
    expect(await profile!(sandbox.customerId)).toEqual({ name: 'Jane Doe' });
    await expect(profile!('7000000000000000000')).rejects.toThrow();
  });
});

describe('the TikTok Shop sandbox', () => {
  /** A stand-in for the bridge's intake: verify, parse, answer like the module says. */
  async function bridge(connections: TikTokShopConnection[]) {
    const events: InboundEvent[] = [];
    const verify = TikTokShopModule.webhook.verifier(connections);
    const web = new Hono();
    web.post(TikTokShopModule.webhook.path, async (c) => {
      const body = new Uint8Array(await c.req.arrayBuffer());
      if (!verify(body, c.req.raw.headers, Date.now()).ok) return c.text('signature', 401);
      events.push(...TikTokShopModule.webhook.parse(JSON.parse(Buffer.from(body).toString('utf8')), connections).events);
      return TikTokShopModule.webhook.acknowledge();
    });
    const listening = await listenOnLoopback(web);
    closers.push(() => new Promise((r) => listening.server.close(r)));
    return { url: listening.origin, events };
  }

  it('plays a buyer with an order, posting signed webhooks the module accepts', async () => {
    const sandbox = await TikTokShopModule.sandbox!();
    // The webhook needs only the app's key and secret, not the fake's URL.
    const intake = await bridge([TikTokShopModule.configSchema.parse(sandbox.connection('http://127.0.0.1:9'))]);
    const fake = await sandbox.startFake({ bridgeUrl: intake.url });
    closers.push(() => fake.close());

    const scene = { bridgeUrl: intake.url, clock: Date.now };
    const hello = await sandbox.send(scene, { text: 'Is the mug dishwasher safe?' });
    expect(hello.status).toBe(200);
    const order = await sandbox.actions!.order!.play(scene, {});
    expect(order.status).toBe(200);
    expect(intake.events.map((e) => (e as InboundMessage).subtype)).toEqual(['text', 'order_card', 'text']);
    const card = intake.events[1] as InboundMessage;
    expect(card.customerId).toBe(sandbox.customerId);
    expect(card.attributes[TTS_ATTR.orderId]).toBe('576000000000000001');
    expect(card.text).toContain('https://seller-uk.tiktok.com/order/detail?order_no=576000000000000001');
    expect(order.matches({ channel: { messageId: card.dedupeKey.split(':').at(-1) } })).toBe(true);
    expect(hello.matches({ channel: { messageId: (intake.events[0] as InboundMessage).messageId } })).toBe(true);
    expect(fake.calls().filter((c) => c.direction === 'to-platform')).toEqual([]);
    expect(order.webhooks.map((w) => w.status)).toEqual([200, 200]);
  });

  it('says so when the buyer is played before the fake runs', async () => {
    const sandbox = await TikTokShopModule.sandbox!();
    await expect(sandbox.send({ bridgeUrl: 'http://127.0.0.1:9', clock: Date.now }, { text: 'hi' })).rejects.toThrow(/startFake/);
  });
});
