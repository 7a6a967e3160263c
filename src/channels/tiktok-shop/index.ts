/**
 * The TikTok Shop customer-service channel: buyer ↔ seller chats of TikTok Shop (not TikTok Business Messaging: another
 * portal, host, auth, signing and webhooks). Everything the bridge knows about the platform, in one object; the
 * registry (src/channels/index.ts) lists it. Rules a maintainer must not break: README.md beside this file.
 */
import type { ChannelModule } from '../../core/channel.js';
import { TikTokShopClient } from './api-client.js';
import { TikTokShopTokens } from './auth.js';
import { TIKTOK_SHOP_CHANNEL, tiktokShopConfigProblems, tiktokShopConnectionSchema, type TikTokShopConnection } from './config.js';
import { classifyTikTokShopError } from './errors.js';
import { createTikTokShopMediaSource } from './media.js';
import { parseTikTokShopWebhook } from './parse.js';
import { createTikTokShopReplier } from './reply.js';
import { tiktokShopVerifier } from './verify.js';
import { tiktokShopClosesAt } from './window.js';

const WEBHOOK_PATH = '/webhooks/tiktok-shop';

export const TikTokShopModule: ChannelModule<TikTokShopConnection> = {
  name: TIKTOK_SHOP_CHANNEL,
  labels: { source: 'TikTok Shop chat', platform: 'TikTok Shop', app: 'TikTok Shop Seller Center' },
  configSchema: tiktokShopConnectionSchema,
  configProblems: tiktokShopConfigProblems,
  accountId: (connection) => connection.shopId,
  webhook: {
    path: WEBHOOK_PATH,
    verifier: tiktokShopVerifier,
    signers: (connection) => [connection.appKey],
    // The Seller Center order link of the shop, when its connection has a template; without one the agent reads
    // where to find the order.
    parse: (body, connections) =>
      parseTikTokShopWebhook(body, {
        orderUrl: (shopId, orderId) =>
          connections.find((c) => c.shopId === shopId)?.orderUrlTemplate?.replaceAll('{orderId}', encodeURIComponent(orderId)),
      }),
    // "Reply 200, empty body, within 3 s" (key fact 16); anything else is retried at +2 min … +12 h.
    acknowledge: () => new Response(null, { status: 200 }),
  },
  connect(connection, deps) {
    const tokens = new TikTokShopTokens({ connection, store: deps.store, clock: deps.clock, metrics: deps.metrics, logger: deps.logger });
    const client = new TikTokShopClient({ connection, tokens, store: deps.store, clock: deps.clock, metrics: deps.metrics, logger: deps.logger });
    return {
      replier: createTikTokShopReplier(connection, client, { attachments: deps.attachments, logger: deps.logger }),
      media: createTikTokShopMediaSource(client, deps.mediaFetch, { metrics: deps.metrics, logger: deps.logger }),
      // The customer id is the conversation id (parse.ts): its BUYER participant has the nickname and avatar.
      async profile(customerId) {
        const buyer = (await client.findConversation(customerId))?.buyer;
        if (!buyer?.nickname) throw new Error('TikTok Shop lists no buyer nickname for this conversation');
        return { name: buyer.nickname, ...(buyer.avatar ? { pictureUrl: buyer.avatar } : {}) };
      },
    };
  },
  replyWindow(conversation) {
    const endsAt = tiktokShopClosesAt(conversation);
    return endsAt === undefined ? {} : { endsAt };
  },
  // TikTok Shop sends no read or delivery receipts at all (reference §5 Receipts): nothing to match.
  readsAreWatermarks: true,
  // Every instance has the app secret already; media tokens are derived from it.
  mediaKeyMaterial: (connection) => [connection.appSecret],
  classifyError: (status, bodyText, { connection, now }) => classifyTikTokShopError(status, bodyText, { shopId: connection.shopId, now }),
  // Only `dmbridge doctor` loads it.
  doctor: (connection, deps) => import('./doctor.js').then((m) => m.tiktokShopDoctor(connection, deps, { webhookPath: WEBHOOK_PATH })),
  sandbox: () => import('./sandbox/index.js'),
};
