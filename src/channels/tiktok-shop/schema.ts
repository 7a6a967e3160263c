/**
 * zod schemas of the TikTok Shop webhook shapes the parser relies on (tiktok-shop.md §4 Payloads, §3 Types).
 * Every object is loose: TikTok adds fields without notice and unknown fields must never break parsing. Fields that
 * decide who sent what where (ids, the sender's role) are strict; fields that only describe are lenient (missing or
 * mistyped reads as absent).
 */
import { z } from 'zod';
import { epochSeconds, lenient } from '../schema-parts.js';

/**
 * TikTok Shop ids are 18-19-digit strings (key fact 22). A number is accepted only while it is a safe integer: a
 * bigger one was already rounded by `JSON.parse`, so it is refused rather than trusted.
 */
export const ttsId = z.union([z.string().min(1).max(64), z.int().nonnegative().max(Number.MAX_SAFE_INTEGER)]).transform(String);

/** `{type, tts_notification_id, shop_id, timestamp, data}` (key fact 14). `type` is a number; digit strings pass. */
export const envelopeSchema = z.looseObject({
  type: z.union([z.int(), z.string().regex(/^\d{1,6}$/).transform(Number)]),
  tts_notification_id: lenient(ttsId),
  shop_id: ttsId,
  timestamp: lenient(epochSeconds),
  data: z.unknown().optional(),
});

/**
 * Type 14 `data` (https://partner.tiktokshop.com/docv2/page/66143486ef8a1202dc323258). `content` is a JSON string
 * parsed a second time. `sender` has only `im_user_id` and `role` (BUYER, SHOP, CUSTOMER_SERVICE, SYSTEM, ROBOT).
 */
export const newMessageSchema = z.looseObject({
  conversation_id: ttsId,
  message_id: ttsId,
  type: z.string().min(1).max(64),
  content: z.unknown().optional(),
  create_time: lenient(epochSeconds),
  is_visible: lenient(z.boolean()),
  index: lenient(ttsId),
  sender: z.looseObject({ im_user_id: ttsId, role: z.string().min(1).max(32) }),
});

/** Width and height: strings in the webhook samples, numbers in the upgrade guide (§3 Types) — both accepted. */
const dimension = z.union([z.int().positive(), z.string().regex(/^\d{1,6}$/).transform(Number)]);

/**
 * One loose shape for every `content`: each type uses a few of these fields (TEXT `content`; IMAGE, VIDEO and
 * EMOTICONS `url`; cards the ids). Unknown types keep whatever of these they carry, so the agent still sees it.
 */
export const messageContentSchema = z.looseObject({
  content: lenient(z.string()),
  url: lenient(z.string()),
  width: lenient(dimension),
  height: lenient(dimension),
  format: lenient(z.string().regex(/^[a-z0-9]{1,8}$/)),
  product_id: lenient(ttsId),
  order_id: lenient(ttsId),
  sku_id: lenient(ttsId),
  coupon_id: lenient(ttsId),
});

/** Types 6 (deauthorized) and 7 (authorization expiring): a message and, for 7, when it expires. */
export const authorizationNoticeSchema = z.looseObject({
  message: lenient(z.string()),
  expiration_time: lenient(epochSeconds),
});

export type TikTokShopNewMessage = z.output<typeof newMessageSchema>;
export type TikTokShopContent = z.output<typeof messageContentSchema>;
