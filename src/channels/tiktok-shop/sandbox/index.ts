/**
 * TikTok Shop's part of the sandbox (the ChannelSandbox facet of src/core/channel.ts): a fake Open API, the
 * connection pointing at it, and a buyer — Jane, with an order — played through signed webhooks. The secrets are
 * well known: everything listens on 127.0.0.1.
 */
import type { SandboxCall, SandboxDelivery, SandboxFake, SandboxMessage, SandboxScene, SandboxWebhook } from '../../../core/channel.js';
import { startFakeTikTokShop, type FakeTikTokShop, type FakeTikTokShopCall } from './fake-tiktok-shop.js';

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
export const customerName = SANDBOX_BUYER.nickname;

let running: FakeTikTokShop | undefined;

/** The fake plays the buyer in this process: `send` and the actions post through it (it hosts the buyer's images). */
export async function startFake(opts: { port?: number; bridgeUrl: string; clock?: () => number }): Promise<SandboxFake> {
  const fake = await startFakeTikTokShop({
    ...SANDBOX_SHOP,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    bridgeUrl: opts.bridgeUrl,
    conversations: [{ id: SANDBOX_CONVERSATION, buyer: SANDBOX_BUYER }],
  });
  running = fake;
  return {
    url: fake.url,
    calls: () => [...fake.calls.map(apiCall), ...fake.echoes.map(echoCall)].sort((a, b) => a.at - b.at),
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

/**
 * The buyer writes (text, or an image fetched from `imageUrl`); `from` names another buyer's conversation. The fake
 * posts the webhook to the bridge it was started with, on its clock: `scene` is the same sandbox.
 */
export async function send(_scene: SandboxScene, message: SandboxMessage): Promise<SandboxDelivery> {
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
    async play(_scene: SandboxScene): Promise<SandboxDelivery> {
      const fake = fakeOrThrow();
      const card = await fake.buyerSends(SANDBOX_CONVERSATION, { type: 'ORDER_CARD', content: { order_id: SANDBOX_ORDER } });
      const question = await fake.buyerSends(SANDBOX_CONVERSATION, { type: 'TEXT', content: { content: 'Where is my order? It has not arrived yet.' } });
      const ids = new Set([card.messageId, question.messageId]);
      const both = delivery(question, `TikTok Shop buyer: order card ${SANDBOX_ORDER} + "Where is my order?"`);
      return { ...both, webhooks: [...delivery(card, '').webhooks, ...both.webhooks], matches: (m) => ids.has(messageIdOf(m) ?? '') };
    },
  },
};

function delivery(sent: { status: number; body: string; messageId: string; webhook?: SandboxWebhook }, label: string): SandboxDelivery {
  return { status: sent.status, body: sent.body, label, webhooks: sent.webhook ? [sent.webhook] : [], matches: (m) => messageIdOf(m) === sent.messageId };
}

const SEND_PATH = /^POST \/customer_service\/202309\/conversations\/[^/]+\/messages$/;

/** An API call as the console shows it; a Send Message call carries the message the buyer's phone receives. */
function apiCall(call: FakeTikTokShopCall): SandboxCall {
  const messageId = (call.data as { message_id?: unknown } | null)?.message_id;
  const sent = call.body as { type?: string; content?: string } | undefined;
  const content = sent?.content ? (JSON.parse(sent.content) as { content?: string; url?: string }) : {};
  const delivered =
    SEND_PATH.test(call.request) && typeof messageId === 'string'
      ? { messageId, ...(sent?.type === 'TEXT' ? { text: content.content ?? '' } : sent?.type === 'IMAGE' && content.url ? { imageUrl: content.url } : { text: `[${(sent?.type ?? 'message').toLowerCase()}]` }) }
      : undefined;
  return { at: call.at, direction: 'to-platform', request: call.request, ...(call.body !== undefined ? { body: call.body } : {}), answer: `code ${call.code}`, ...(delivered ? { delivered } : {}) };
}

function echoCall(webhook: SandboxWebhook): SandboxCall {
  return { at: webhook.at, direction: 'to-bridge', request: `POST ${webhook.path} (echo)`, body: JSON.parse(webhook.body), answer: `${webhook.status} ${webhook.answer}` };
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
