/**
 * The configuration of one TikTok Shop connection: one shop bound to one Genesys Open Messaging integration.
 * Defaults live here and nowhere else. Protocol facts: docs/protocols/tiktok-shop.md (key facts, §1-§5).
 */
import { z } from 'zod';
import { connectionId, genesysBinding, nonEmpty } from '../../core/connection.js';

export const TIKTOK_SHOP_CHANNEL = 'tiktok-shop';

export const tiktokShopConnectionSchema = z.strictObject({
  id: connectionId,
  channel: z.literal(TIKTOK_SHOP_CHANNEL),
  /**
   * The shop's id: `shop_id` of the webhooks and `shops[].id` of the authorized-shops call. 18-19 digits, always a
   * string (key fact 22): a JS number would round it.
   */
  shopId: z.string().regex(/^\d{1,32}$/, 'must be the numeric shop id, as a string (quote it in YAML)'),
  /** The Partner Center app's key: signs nothing alone, but is part of every signature and of the webhook HMAC. */
  appKey: nonEmpty,
  /** Signs every API request and every webhook (key facts 4, 15). */
  appSecret: nonEmpty,
  /** The seller's tokens from the authorization (7 days / the authorization period, key fact 6). */
  accessToken: nonEmpty,
  refreshToken: nonEmpty,
  /** One host for every market, US included (key fact 2). */
  apiBaseUrl: z.url().default('https://open-api.tiktokglobalshop.com'),
  /** Token host; some SDKs use auth.tiktokglobalshop.com instead (§1, conflicting sources). */
  authBaseUrl: z.url().default('https://auth.tiktok-shops.com'),
  /** Show the agent, as a note, what the shop sent from Seller Center itself (its agents, auto replies); never the chat bot. */
  forwardAppReplies: z.boolean().default(false),
  /**
   * Where an agent finds an order in Seller Center; `{orderId}` is replaced. The host depends on the shop's market
   * (seller-us.tiktok.com, seller-uk.tiktok.com …), which the webhooks do not carry, so it is configured.
   * UNCONFIRMED: the page's address is not in TikTok's API docs (seen in public code only).
   */
  orderUrlTemplate: z
    .string()
    .refine((s) => s.includes('{orderId}') && URL.canParse(s.replace('{orderId}', '1')), 'must be an https URL containing {orderId}')
    .optional(),
  /**
   * Mark Read (`POST …/messages/read`) is sent without a body by default. TikTok's sample shows `{}` and its SDKs
   * disagree on whether `{}` is signed (§2 Pitfalls, UNCONFIRMED): `empty-object` sends and signs `{}`.
   */
  markReadBody: z.enum(['none', 'empty-object']).default('none'),
  /**
   * After the buyer has been silent (6 h after a reply, 7 days unanswered) the conversation is closed; a seller may
   * reopen it (Create Conversation, same id) if the buyer chatted in the last 30 days, ordered in the last 60 or has a
   * return/refund (reference §5). Off: such replies fail with a sentence instead.
   */
  reopenClosedConversations: z.boolean().default(true),
  /** TikTok Shop allows 50 requests per second per API (key fact 11); each instance stays under this. */
  maxRequestsPerSecond: z.number().int().min(1).max(50).default(40),
  /** Per API call (not media transfers). */
  timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  genesys: genesysBinding,
});

export type TikTokShopConnection = z.output<typeof tiktokShopConnectionSchema>;

/** Problems across the TikTok Shop connections, each naming its key. */
export function tiktokShopConfigProblems(connections: readonly TikTokShopConnection[], server: { publicUrl?: string | undefined }): string[] {
  const problems: string[] = [];
  const secrets = new Map<string, string>();
  // (Two connections of one shop are refused for every channel alike: src/config/checks.ts.)
  for (const c of connections) {
    // One app signs every shop's webhooks with its one secret: two secrets for one key cannot both be right.
    const secret = secrets.get(c.appKey);
    if (secret !== undefined && secret !== c.appSecret) problems.push(`connections.${c.id}.appSecret: differs from another connection with the same appKey`);
    secrets.set(c.appKey, c.appSecret);
  }
  // Buyer images expire and Genesys cannot fetch them with the shop's token: they go through the bridge's /media route.
  if (connections.length > 0 && !server.publicUrl) problems.push('server.publicUrl: required with a TikTok Shop connection (Genesys fetches buyer images from the bridge)');
  return problems;
}
