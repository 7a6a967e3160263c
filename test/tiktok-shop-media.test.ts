import { afterEach, describe, expect, it } from 'vitest';
import { TikTokShopModule } from '../src/channels/tiktok-shop/index.js';
import { parseTikTokShopWebhook } from '../src/channels/tiktok-shop/parse.js';
import { tiktokShopConnectionSchema } from '../src/channels/tiktok-shop/config.js';
import { startFakeTikTokShop, type FakeTikTokShop } from '../src/channels/tiktok-shop/sandbox/fake-tiktok-shop.js';
import { tiktokShopVerifier } from '../src/channels/tiktok-shop/verify.js';
import type { MediaSource } from '../src/core/channel.js';
import { PermanentError } from '../src/core/errors.js';
import type { InboundMessage } from '../src/core/events.js';
import { createMetrics } from '../src/metrics.js';
import { silentLogger } from '../src/logger.js';
import { testMedia } from './helpers.js';
import { Hono } from 'hono';
import { listenOnLoopback } from '../src/net/loopback.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';

const APP = { appKey: '68abcdefgh1ij', appSecret: 'tts-app-secret-for-tests' };
const SHOP = '7494049642642441621';
const CONVERSATION = '7494560109732334262';
const BUYER = { imUserId: '7494560109732330001', userId: '7494560109732334001', nickname: 'Jane Doe' };
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/**
 * A fake shop whose webhooks land in a little receiver that verifies and parses them the way the intake would, and
 * the connection's media source.
 */
async function setup(region = 'GB'): Promise<{ fake: FakeTikTokShop; media: MediaSource; received: InboundMessage[] }> {
  const received: InboundMessage[] = [];
  const verify = tiktokShopVerifier([APP]);
  const receiver = new Hono();
  receiver.post('/webhooks/tiktok-shop', async (c) => {
    const raw = new Uint8Array(await c.req.arrayBuffer());
    if (!verify(raw, c.req.raw.headers, Date.now()).ok) return c.text('bad signature', 401);
    for (const e of parseTikTokShopWebhook(JSON.parse(Buffer.from(raw).toString('utf8'))).events) if (e.kind === 'message') received.push(e);
    return new Response(null, { status: 200 });
  });
  const bridge = await listenOnLoopback(receiver);
  closers.push(() => new Promise((r) => bridge.server.close(r)));
  const fake = await startFakeTikTokShop({ ...APP, region, shopId: SHOP, shopCipher: 'ROW_c', accessToken: 'TTP_a', refreshToken: 'TTP_r', bridgeUrl: bridge.origin, conversations: [{ id: CONVERSATION, buyer: BUYER }] });
  closers.push(() => fake.close());
  const store = openSqliteStore(':memory:');
  closers.push(() => store.close());
  const connection = tiktokShopConnectionSchema.parse({
    id: 'acme-shop', channel: 'tiktok-shop', shopId: SHOP, ...APP, accessToken: 'TTP_a', refreshToken: 'TTP_r',
    apiBaseUrl: fake.url, authBaseUrl: fake.url, genesys: { integrationId: 'i', webhookSecret: 'genesys-secret-0123456789' },
  });
  const { media } = TikTokShopModule.connect(connection, { store, clock: Date.now, metrics: createMetrics(), logger: silentLogger, ...testMedia({ origins: [fake.url] }) });
  return { fake, media: media!, received };
}

async function buyerImage(fake: FakeTikTokShop, received: InboundMessage[]) {
  const sent = await fake.buyerSends(CONVERSATION, { type: 'IMAGE', content: { width: '304', height: '290' } });
  expect(sent.status).toBe(200);
  const message = received.find((m) => m.messageId === sent.messageId)!;
  return { message, reference: message.attachment!.reference! };
}

describe('the TikTok Shop media source', () => {
  it('streams the buyer image named by the webhook', async () => {
    const { fake, media, received } = await setup();
    const { reference } = await buyerImage(fake, received);
    const stream = await media(reference);
    expect(stream.contentType).toBe('image/jpeg');
    expect(new Uint8Array(await new Response(stream.body).arrayBuffer()).slice(0, 3)).toEqual(new Uint8Array([0xff, 0xd8, 0xff]));
  });

  it('gets a fresh URL from the conversation messages once the signed URL expired', async () => {
    const { fake, media, received } = await setup();
    const { reference } = await buyerImage(fake, received);
    fake.expireMediaUrls();
    const stream = await media(reference);
    expect(stream.contentType).toBe('image/jpeg');
    expect(fake.traffic.some((t) => t.startsWith(`GET /customer_service/202309/conversations/${CONVERSATION}/messages → 0`))).toBe(true);
    await stream.body.cancel();
  });

  it('sends the token and cipher that Indonesian image links need', async () => {
    const { fake, media, received } = await setup('ID');
    const { reference } = await buyerImage(fake, received);
    expect((await fetch(reference.url!)).status).toBe(403);
    const stream = await media(reference);
    expect(stream.contentType).toBe('image/jpeg');
    await stream.body.cancel();
  });

  it('fails plainly when the URL expired and the message is no longer listed', async () => {
    const { fake, media } = await setup();
    const error = await media({ kind: 'image', conversationId: CONVERSATION, messageId: '7600000000000000999', url: `${fake.url}/im-media/gone?gen=0` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/no longer lists this message/);
    await expect(media({ kind: 'image' })).rejects.toBeInstanceOf(PermanentError);
  });
});
