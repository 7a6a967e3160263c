/**
 * Plumbing of the TikTok Shop end-to-end tests: real bridges (startServer) with tiktok-shop connections, each shop
 * played by its fake TikTok Shop (which signs its webhooks and checks every call like the real one), the fake
 * Genesys (which keeps the agents' attachments behind its downloads endpoint), and one clock that the bridges and the fakes share and the tests move.
 */
import { Hono } from 'hono';
import { expect } from 'vitest';
import { configSchema } from '../src/config/index.js';
import type { RunningServer } from '../src/entry/server.js';
import type { Logger } from '../src/logger.js';
import { silentLogger } from '../src/logger.js';
import { listenOnLoopback } from '../src/net/loopback.js';
import { deliverOutbound, outboundWebhookBody, startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { startFakeTikTokShop, type FakeBuyerMessage, type FakeTikTokShop } from '../src/channels/tiktok-shop/sandbox/fake-tiktok-shop.js';
import { TEST, eventually, rawTestConfig, startTestServer } from './helpers.js';

export const HOUR = 3600_000;
/** The orderUrlTemplate every test shop has: the agent's link to the order in Seller Center. */
export const ORDER_URL = 'https://seller-uk.tiktok.com/order/detail?order_no={orderId}&shop_region=GB';
/** A PNG of a few bytes, and how many bytes make an image too large for TikTok Shop chat. */
export const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82, 1, 2, 3, 4]);
const TOO_LARGE = 10 * 1024 * 1024 + 1;

export interface ShopSpec {
  connectionId: string;
  shopId: string;
  appKey: string;
  /** Connection settings besides the ids and secrets (forwardAppReplies, reopenClosedConversations …). */
  settings?: Record<string, unknown>;
}

export interface Shop extends ShopSpec {
  appSecret: string;
  integrationId: string;
  webhookSecret: string;
  fake: FakeTikTokShop;
}

/** The sandbox-like world of one test file. `now()` is the time of the bridges and the fakes. */
export interface ShopWorld {
  genesys: FakeGenesys;
  shops: Shop[];
  bridges: RunningServer[];
  /** The fake Genesys's downloads endpoint, where agents' attachments are (`agentImage`). */
  attachments: string;
  now(): number;
  /** Moves the shared clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export interface WorldOptions {
  shops: ShopSpec[];
  /** `sqlite:<path>` or a PostgreSQL URL (with `postgres`). */
  store: string;
  postgres?: Record<string, unknown>;
  /** Bridges on the one store (default 1). */
  bridges?: number;
  queue?: Record<string, unknown>;
  logger?: Logger;
}

export async function startShopWorld(opts: WorldOptions): Promise<ShopWorld> {
  let offset = 0;
  const now = () => Date.now() + offset;
  const specs = opts.shops.map((spec, i) => ({
    ...spec,
    appSecret: `${spec.appKey}-app-secret`,
    integrationId: `0a1b2c3d-4444-4222-8333-9444555666${String(10 + i)}`,
    webhookSecret: `tiktok-shop-genesys-webhook-secret-${i}`,
  }));
  const genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId, ...specs.map((s) => s.integrationId)] });
  const ports = await Promise.all(Array.from({ length: opts.bridges ?? 1 }, () => freePort()));
  // Every fake posts its buyer's webhooks and its echoes to the first bridge.
  const fakes = await Promise.all(
    specs.map((s) =>
      startFakeTikTokShop({
        appKey: s.appKey,
        appSecret: s.appSecret,
        shopId: s.shopId,
        shopCipher: `ROW_${s.connectionId}AAAA0001`,
        accessToken: `TTP_${s.connectionId}_access`,
        refreshToken: `TTP_${s.connectionId}_refresh`,
        bridgeUrl: `http://127.0.0.1:${ports[0]}`,
        clock: now,
      }),
    ),
  );
  const shops: Shop[] = specs.map((s, i) => ({ ...s, fake: fakes[i]! }));
  const bridges: RunningServer[] = [];
  for (const port of ports) {
    const raw = rawTestConfig({
      genesysUrl: genesys.url,
      store: opts.store,
      port,
      mediaOrigins: [genesys.storageUrl, ...fakes.map((f) => f.url)],
      ...(opts.queue ? { queue: opts.queue } : {}),
    });
    const connections = shops.map((s) => ({
      id: s.connectionId,
      channel: 'tiktok-shop',
      shopId: s.shopId,
      appKey: s.appKey,
      appSecret: s.appSecret,
      accessToken: `TTP_${s.connectionId}_access`,
      refreshToken: `TTP_${s.connectionId}_refresh`,
      apiBaseUrl: s.fake.url,
      authBaseUrl: s.fake.url,
      orderUrlTemplate: ORDER_URL,
      genesys: { integrationId: s.integrationId, webhookSecret: s.webhookSecret },
      ...s.settings,
    }));
    const config = configSchema.parse({
      ...raw,
      server: { ...raw.server, publicUrl: `http://127.0.0.1:${port}` },
      ...(opts.postgres ? { postgres: opts.postgres } : {}),
      connections: [...raw.connections, ...connections],
    });
    bridges.push(await startTestServer({ config, logger: opts.logger ?? silentLogger, clock: now }));
  }
  return {
    genesys,
    shops,
    bridges,
    attachments: `${genesys.url}/api/v2/downloads`,
    now,
    advance(ms) {
      offset += ms;
    },
    async close() {
      for (const bridge of bridges) await bridge.close();
      await Promise.all([genesys.close(), ...fakes.map((f) => f.close())]);
    },
  };
}

type GenesysMessage = {
  text?: string;
  content?: Array<{ attachment: { url: string; mediaType: string; mime?: string } }>;
  channel: { messageId: string; from: { id: string; nickname?: string; firstName?: string }; metadata: { customAttributes: Record<string, string> } };
};
export type Receipt = { id: string; status: string; reasons?: Array<{ code: string; message: string }> };

let buyers = 0;

/** The test's view of one buyer's conversation with a shop: what to play and what to look at. */
export function buyerOf(world: ShopWorld, shop: Shop, opts: { canSendMessage?: boolean } = {}) {
  buyers++;
  const n = String(buyers).padStart(4, '0');
  const conversationId = `749456010973${shop.shopId.slice(-3)}${n}`;
  const buyer = { imUserId: `749456010973400${n}`, userId: `749456010973500${n}`, nickname: `Buyer ${n}` };
  shop.fake.addConversation({ id: conversationId, buyer, ...(opts.canSendMessage !== undefined ? { canSendMessage: opts.canSendMessage } : {}) });

  const atGenesys = () => world.genesys.messages.map((m) => m.body as GenesysMessage).filter((b) => b.channel.from.id === conversationId);
  return {
    conversationId,
    buyer,
    atGenesys,
    /** The buyer sends; resolves with what Genesys received for it. */
    async writes(message: FakeBuyerMessage | string) {
      const sent = await shop.fake.buyerSends(conversationId, typeof message === 'string' ? { type: 'TEXT', content: { content: message } } : message);
      expect(sent.status).toBe(200);
      expect(await eventually(() => atGenesys().some((m) => m.channel.messageId === sent.messageId), 8000)).toBe(true);
      return { ...sent, atGenesys: atGenesys().find((m) => m.channel.messageId === sent.messageId)! };
    },
    /** An agent answers in Genesys (through `bridge`, default the first); resolves with the Genesys message id. */
    async agentReplies(text: string | undefined, extra: Partial<Parameters<typeof outboundWebhookBody>[0]> = {}, bridge = world.bridges[0]!) {
      const { id, body } = outboundWebhookBody({ integrationId: shop.integrationId, customerId: conversationId, ...(text !== undefined ? { text } : {}), ...extra });
      expect((await deliverOutbound(`${bridge.url}/webhooks/genesys/${shop.connectionId}`, body, shop.webhookSecret)).status).toBe(200);
      return id;
    },
    /** The messages the shop sent in this conversation, as the fake accepted them. */
    sends: () => shop.fake.sends.filter((s) => s.conversationId === conversationId),
  };
}

export async function receiptFor(world: ShopWorld, id: string, timeoutMs = 8000): Promise<Receipt> {
  const find = () => world.genesys.receipts.map((r) => r.body as Receipt).find((r) => r.id === id);
  expect(await eventually(() => find() !== undefined, timeoutMs), `a receipt for ${id}`).toBe(true);
  return find()!;
}

/** Dead-lettered reply jobs of this Genesys message. */
export async function deadLettersOf(world: ShopWorld, genesysMessageId: string) {
  return (await world.bridges[0]!.bridge.store.listDead(500)).filter((d) => JSON.stringify(d.payload).includes(genesysMessageId));
}

/** The value of one counter series on a bridge's /metrics, 0 when absent. */
export async function metric(bridge: RunningServer, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${bridge.url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** An image an agent attached, kept by the fake Genesys: a PNG, or a file over 10 MB sent without Content-Length. */
export function agentImage(world: ShopWorld, which: 'photo' | 'huge') {
  const file =
    which === 'photo'
      ? { bytes: PNG, mime: 'image/png', filename: 'photo.png' }
      : { bytes: new Uint8Array(TOO_LARGE).fill(0xff), mime: 'image/jpeg', filename: 'huge.jpg', chunked: true };
  return { mediaType: 'Image', url: world.genesys.hostAttachment(file), mime: file.mime, filename: file.filename };
}

async function freePort(): Promise<number> {
  const { server, origin } = await listenOnLoopback(new Hono());
  await new Promise((resolve) => server.close(resolve));
  return Number(new URL(origin).port);
}
