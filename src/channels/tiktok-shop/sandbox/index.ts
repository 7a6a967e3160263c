/**
 * TikTok Shop's part of the sandbox (the ChannelSandbox facet of src/core/channel.ts): a fake Open API, the
 * connection pointing at it, and a buyer — Jane, with an order — played through signed webhooks. The secrets are
 * well known: everything listens on 127.0.0.1.
 */
import type { SandboxDelivery, SandboxFake } from '../../../core/channel.js';
import { startFakeTikTokShop, type FakeTikTokShop } from './fake-tiktok-shop.js';

export const SANDBOX_SHOP = {
  shopId: '7494049642642441621',
  appKey: '68sandboxshop',
  appSecret: 'sandbox-tiktok-shop-app-secret',
  shopCipher: 'ROW_SandboxCipherAAAAA0001',
  accessToken: 'TTP_sandbox_access_token',
  refreshToken: 'TTP_sandbox_refresh_token',
} as const;

export const SANDBOX_BUYER = { imUserId: '7494560109732330001', userId: '7494560109732334001', nickname: 'Jane Doe' } as const;
/** The buyer's conversation with the shop: the customer id (see parse.ts). */
export const SANDBOX_CONVERSATION = '7494560109732334262';
export const SANDBOX_ORDER = '576000000000000001';

export const connectionId = 'sandbox-tiktok-shop';
export const integrationId = '5a1dbe00-0000-4000-8000-00000000a003';
export const genesysWebhookSecret = 'sandbox-genesys-tiktok-shop-webhook-secret';
export const customerId = SANDBOX_CONVERSATION;

let running: FakeTikTokShop | undefined;

export async function startFake(opts: { port?: number; bridgeUrl: string }): Promise<SandboxFake> {
  const fake = await startFakeTikTokShop({
    ...SANDBOX_SHOP,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    bridgeUrl: opts.bridgeUrl,
    conversations: [{ id: SANDBOX_CONVERSATION, buyer: SANDBOX_BUYER }],
  });
  running = fake;
  let seen = 0;
  return {
    url: fake.url,
    takeTraffic() {
      const lines = fake.traffic.slice(seen);
      seen = fake.traffic.length;
      return lines;
    },
    async close() {
      if (running === fake) running = undefined;
      await fake.close();
    },
  };
}

export function connection(fakeUrl: string): Record<string, unknown> {
  return {
    id: connectionId,
    channel: 'tiktok-shop',
    shopId: SANDBOX_SHOP.shopId,
    appKey: SANDBOX_SHOP.appKey,
    appSecret: SANDBOX_SHOP.appSecret,
    accessToken: SANDBOX_SHOP.accessToken,
    refreshToken: SANDBOX_SHOP.refreshToken,
    apiBaseUrl: fakeUrl,
    authBaseUrl: fakeUrl,
    orderUrlTemplate: 'https://seller-uk.tiktok.com/order/detail?order_no={orderId}&shop_region=GB',
    genesys: { integrationId, webhookSecret: genesysWebhookSecret },
  };
}

/** The buyer writes (text, or an image fetched from `imageUrl`); `from` names another buyer's conversation. */
export async function send(_bridgeUrl: string, message: { text?: string; imageUrl?: string; from?: string }): Promise<SandboxDelivery> {
  const fake = fakeOrThrow();
  const conversation = message.from ?? SANDBOX_CONVERSATION;
  if (message.from !== undefined) {
    fake.addConversation({ id: conversation, buyer: { imUserId: `${conversation}01`, userId: `${conversation}02`, nickname: 'Another buyer' } });
  }
  if (message.imageUrl) {
    const imageBytes = new Uint8Array(await (await fetch(message.imageUrl, { signal: AbortSignal.timeout(10_000) })).arrayBuffer());
    return delivery(await fake.buyerSends(conversation, { type: 'IMAGE', content: { width: '640', height: '480' }, imageBytes }), 'TikTok Shop buyer image');
  }
  const sent = await fake.buyerSends(conversation, { type: 'TEXT', content: { content: message.text ?? 'Hi! Is the mug dishwasher safe?' } });
  return delivery(sent, `TikTok Shop buyer: ${message.text ?? 'Hi! Is the mug dishwasher safe?'}`);
}

export const actions = {
  order: {
    help: 'the TikTok Shop buyer sends an order card and asks where the order is',
    async play(_bridgeUrl: string): Promise<SandboxDelivery> {
      const fake = fakeOrThrow();
      const card = await fake.buyerSends(SANDBOX_CONVERSATION, { type: 'ORDER_CARD', content: { order_id: SANDBOX_ORDER } });
      const question = await fake.buyerSends(SANDBOX_CONVERSATION, { type: 'TEXT', content: { content: 'Where is my order? It has not arrived yet.' } });
      const ids = new Set([card.messageId, question.messageId]);
      return { ...delivery(question, `TikTok Shop buyer: order card ${SANDBOX_ORDER} + "Where is my order?"`), matches: (m) => ids.has(messageIdOf(m) ?? '') };
    },
  },
};

function delivery(sent: { status: number; body: string; messageId: string }, label: string): SandboxDelivery {
  return { status: sent.status, body: sent.body, label, matches: (m) => messageIdOf(m) === sent.messageId };
}

/** Genesys `channel.messageId` of a message the fake Genesys received. */
function messageIdOf(genesysMessage: Record<string, unknown>): string | undefined {
  const channel = genesysMessage.channel as { messageId?: unknown } | undefined;
  return typeof channel?.messageId === 'string' ? channel.messageId : undefined;
}

function fakeOrThrow(): FakeTikTokShop {
  if (!running) throw new Error('The TikTok Shop sandbox fake is not running: call startFake first.');
  return running;
}
