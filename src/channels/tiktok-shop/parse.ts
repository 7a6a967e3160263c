/**
 * TikTok Shop webhook → normalized inbound events (src/core/events.ts). Pure: no I/O, no clock, and it never throws
 * for any JSON value. One notification per POST. Protocol facts: docs/protocols/tiktok-shop.md §4 and §7.
 *
 * Who the customer is: a type 14 message names only its sender (`im_user_id`, `role`), so the shop's own messages
 * (Seller Center replies, auto replies, our API sends) do not say which buyer they went to. The conversation id does,
 * for both directions, and a buyer has one conversation per shop (Create Conversation reopens it with the same id,
 * reference §3): so `customerId` is the conversation id, and the buyer's `im_user_id` rides in an attribute.
 */
import type { InboundAttachment, InboundEcho, InboundMessage, ParseResult, SkippedItem } from '../../core/events.js';
import { describeIssue } from '../zod-issue.js';
import { TIKTOK_SHOP_CHANNEL } from './config.js';
import {
  authorizationNoticeSchema,
  envelopeSchema,
  messageContentSchema,
  newMessageSchema,
  type TikTokShopContent,
  type TikTokShopNewMessage,
} from './schema.js';

/** Routing attributes (`channel.metadata.customAttributes`) this channel adds; Architect may route on them. */
export const TTS_ATTR = {
  /** The shop's id (`shop_id`). On every event. */
  shop: 'dmbridge.tiktokshop.shop',
  conversationId: 'dmbridge.tiktokshop.conversationId',
  /** The buyer's id in TikTok Shop's chat system (not the Order API's `user_id`). */
  buyerImUserId: 'dmbridge.tiktokshop.buyerImUserId',
  /** When the message is about an order: order, return/refund and logistics cards, "entered from order". */
  orderId: 'dmbridge.tiktokshop.orderId',
  productId: 'dmbridge.tiktokshop.productId',
  skuId: 'dmbridge.tiktokshop.skuId',
  couponId: 'dmbridge.tiktokshop.couponId',
  /** TikTok Shop's message type, for types the bridge does not know. */
  messageType: 'dmbridge.tiktokshop.messageType',
} as const;

export interface TikTokShopParseOptions {
  /** The Seller Center page of an order, for the agent; undefined when the shop's market is not configured. */
  orderUrl?: (shopId: string, orderId: string) => string | undefined;
}

export type TikTokShopParseResult = ParseResult & {
  /** The envelope's `shop_id`, also when nothing became an event (route and log on it). */
  shopId?: string;
};

const UNSUPPORTED = '[Unsupported TikTok Shop message – see Seller Center]';
const NO_IMAGE = '[The buyer sent an image TikTok Shop did not deliver – see Seller Center]';

/** Webhook types (key fact 13). */
const NEW_MESSAGE = 14;
const AGENT_JOINED_OR_LEFT = 13;
const DEAUTHORIZED = 6;
const AUTHORIZATION_EXPIRING = 7;
const CREATOR_CHAT = 33;

export function parseTikTokShopWebhook(body: unknown, opts: TikTokShopParseOptions = {}): TikTokShopParseResult {
  const out: TikTokShopParseResult = { events: [], skipped: [] };
  const env = envelopeSchema.safeParse(body);
  if (!env.success) {
    skip(out, 'malformed', describeIssue('envelope', env.error));
    return out;
  }
  const { type, shop_id: shopId, tts_notification_id: notificationId } = env.data;
  out.shopId = shopId;
  const envelopeMs = env.data.timestamp === undefined ? undefined : env.data.timestamp * 1000;
  switch (type) {
    case NEW_MESSAGE:
      parseNewMessage(env.data.data, { shopId, envelopeMs, orderUrl: opts.orderUrl }, out);
      break;
    // A customer-service agent joined or left (NOT "a buyer started a chat", key fact 13): nothing for the agent.
    case AGENT_JOINED_OR_LEFT:
      skip(out, 'agent_joined_or_left');
      break;
    case DEAUTHORIZED:
      skip(out, 'shop_deauthorized', `shop ${shopId}`, deauthorizedAlert(shopId));
      break;
    case AUTHORIZATION_EXPIRING:
      skip(out, 'authorization_expiring', `shop ${shopId}`, expiringAlert(shopId, env.data.data));
      break;
    // Creator ↔ seller affiliate chat: not customer service.
    case CREATOR_CHAT:
      skip(out, 'creator_chat');
      break;
    default:
      skip(out, 'unknown_type', `type ${type}${notificationId ? `, notification ${notificationId}` : ''}`);
  }
  return out;
}

interface MessageContext {
  shopId: string;
  envelopeMs: number | undefined;
  orderUrl: TikTokShopParseOptions['orderUrl'];
}

function parseNewMessage(data: unknown, ctx: MessageContext, out: ParseResult): void {
  const parsed = newMessageSchema.safeParse(data);
  if (!parsed.success) return skip(out, 'malformed', describeIssue('type 14 data', parsed.error));
  const message = parsed.data;
  const timestamp = message.create_time === undefined ? ctx.envelopeMs : message.create_time * 1000;
  if (timestamp === undefined) return skip(out, 'malformed', 'type 14 data: no create_time');
  // e.g. the rating request at the end of a conversation: "should not be presented" (cs-msgs).
  if (message.is_visible === false) return skip(out, 'invisible');
  const content = contentOf(message.content);
  const type = message.type.toUpperCase();
  // Context, not a turn, and sent by any role (SYSTEM seen): the order or product the buyer was looking at.
  if (type === 'BUYER_ENTER_FROM_ORDER' || type === 'BUYER_ENTER_FROM_PRODUCT') return pushContext(message, type, content, timestamp, ctx, out);
  switch (message.sender.role.toUpperCase()) {
    case 'BUYER':
      return pushBuyerMessage(message, type, content, timestamp, ctx, out);
    // Seller Center agents, the shop's auto replies and FAQ, and (UNCONFIRMED which role) our own API sends all arrive
    // as type 14 (key fact 18): echoes, never the buyer's words. Ours are recognised by message id.
    case 'SHOP':
    case 'CUSTOMER_SERVICE':
      return pushEcho(message, type, content, timestamp, ctx, out);
    // The shop's chat bot talks to the buyer before a person does: counted, never forwarded (reference §7).
    case 'ROBOT':
      return skip(out, 'bot_message', type.slice(0, 40));
    case 'SYSTEM':
      return skip(out, 'system_message', type.slice(0, 40));
    default:
      return skip(out, 'unknown_sender', message.sender.role.slice(0, 32));
  }
}

/** What the buyer sent, as the agent reads it. */
interface Part {
  subtype: string;
  text?: string;
  attachment?: InboundAttachment;
  attributes: Record<string, string>;
}

function pushBuyerMessage(message: TikTokShopNewMessage, type: string, content: TikTokShopContent | undefined, timestamp: number, ctx: MessageContext, out: ParseResult): void {
  const part = partOf(message, type, content, ctx);
  const event: InboundMessage = {
    ...base(message, ctx, 'message', timestamp),
    kind: 'message',
    subtype: part.subtype,
    messageId: message.message_id,
    ...(part.text !== undefined ? { text: part.text } : {}),
    ...(part.attachment ? { attachment: part.attachment } : {}),
    attributes: { ...routing(message, ctx), [TTS_ATTR.buyerImUserId]: message.sender.im_user_id, ...part.attributes },
    // Every buyer message restarts TikTok Shop's 6-hour / 7-day clocks (reference key fact 19).
    opensWindow: true,
  };
  out.events.push(event);
}

function partOf(message: TikTokShopNewMessage, type: string, content: TikTokShopContent | undefined, ctx: MessageContext): Part {
  const ids = idAttributes(content);
  switch (type) {
    case 'TEXT': {
      // Line breaks are kept as sent (§3 Types).
      const text = nonBlank(content?.content);
      return text === undefined ? { subtype: 'text', text: UNSUPPORTED, attributes: {} } : { subtype: 'text', text, attributes: {} };
    }
    case 'IMAGE':
    case 'VIDEO':
    case 'EMOTICONS':
      return mediaPart(message, type, content);
    case 'PRODUCT_CARD':
      return card('product_card', `🛍️ Product card: product ${content?.product_id ?? '(no id)'}`, ids);
    case 'ORDER_CARD':
      return card('order_card', `📦 Order card: ${orderLine(content?.order_id, ctx)}`, ids);
    case 'RETURN_REFUND_CARD': {
      const sku = content?.sku_id ? ` (SKU ${content.sku_id})` : '';
      return card('return_refund_card', `↩️ Return/refund card: ${orderLine(content?.order_id, ctx, sku)}`, ids);
    }
    case 'COUPON_CARD':
      return card('coupon_card', `🎟️ Coupon card: coupon ${content?.coupon_id ?? '(no id)'}`, ids);
    // Later docs and one implementation only (reference §3 Types, [OBS SH]): `{order_id}` assumed.
    case 'LOGISTICS_CARD':
      return card('logistics_card', `🚚 Shipping card: ${orderLine(content?.order_id, ctx)}`, ids);
    default:
      return unknownPart(type, content, ids, ctx);
  }
}

/**
 * Buyer media URLs are signed and expire (key fact 21), so the attachment carries a reference the connection's
 * media source resolves when Genesys fetches it (a fresh URL from Get Conversation Messages if this one expired).
 * EMOTICONS' content is undocumented (UNCONFIRMED): an image when it has a `url`, else `[sticker]`.
 */
function mediaPart(message: TikTokShopNewMessage, type: 'IMAGE' | 'VIDEO' | 'EMOTICONS', content: TikTokShopContent | undefined): Part {
  const subtype = type.toLowerCase();
  const url = httpUrl(content?.url);
  if (url === undefined) return { subtype, text: type === 'EMOTICONS' ? '[sticker]' : NO_IMAGE, attributes: {} };
  const video = type === 'VIDEO';
  return {
    subtype,
    attachment: {
      mediaType: video ? 'Video' : 'Image',
      url: '',
      // Best guesses: TikTok Shop does not say; the bridge's /media route passes on the real type.
      mime: video ? `video/${content?.format ?? 'mp4'}` : 'image/jpeg',
      reference: { kind: video ? 'video' : 'image', conversationId: message.conversation_id, messageId: message.message_id, url },
    },
    attributes: {},
  };
}

/** Anything else: never empty, and everything known about it (its type, ids, text) is shown. */
function unknownPart(type: string, content: TikTokShopContent | undefined, ids: Record<string, string>, ctx: MessageContext): Part {
  const known = [
    content?.order_id ? orderLine(content.order_id, ctx) : undefined,
    content?.product_id ? `product ${content.product_id}` : undefined,
    content?.coupon_id ? `coupon ${content.coupon_id}` : undefined,
    nonBlank(content?.content),
    httpUrl(content?.url),
  ].filter((s): s is string => s !== undefined);
  const label = type === 'OTHER' ? UNSUPPORTED : `${UNSUPPORTED} (type ${type.slice(0, 40)})`;
  return {
    subtype: 'unsupported',
    text: known.length > 0 ? `${label}\n${known.join('\n')}` : label,
    attributes: { ...ids, [TTS_ATTR.messageType]: type.slice(0, 40) },
  };
}

function card(subtype: string, text: string, attributes: Record<string, string>): Part {
  return { subtype, text, attributes };
}

/** `order 576… — https://seller…` or, without a configured link, where to look for it. */
function orderLine(orderId: string | undefined, ctx: MessageContext, suffix = ''): string {
  if (orderId === undefined) return `an order (no id)${suffix}`;
  const url = ctx.orderUrl?.(ctx.shopId, orderId);
  return url ? `order ${orderId}${suffix} — ${url}` : `order ${orderId}${suffix} (Seller Center › Orders)`;
}

/** The buyer opened the chat from an order or product page: shown, with the id as a routing attribute. */
function pushContext(message: TikTokShopNewMessage, type: string, content: TikTokShopContent | undefined, timestamp: number, ctx: MessageContext, out: ParseResult): void {
  const fromOrder = type === 'BUYER_ENTER_FROM_ORDER';
  const what = fromOrder ? orderLine(content?.order_id, ctx) : `product ${content?.product_id ?? '(no id)'}`;
  out.events.push({
    ...base(message, ctx, 'message', timestamp),
    kind: 'message',
    subtype: fromOrder ? 'entered_from_order' : 'entered_from_product',
    messageId: message.message_id,
    text: `ℹ️ The buyer opened this chat from ${what}`,
    attributes: { ...routing(message, ctx), ...idAttributes(content) },
    // Not something the buyer wrote: it does not restart the reply clocks.
    opensWindow: false,
  });
}

function pushEcho(message: TikTokShopNewMessage, type: string, content: TikTokShopContent | undefined, timestamp: number, ctx: MessageContext, out: ParseResult): void {
  const text = type === 'TEXT' ? nonBlank(content?.content) : undefined;
  const echo: InboundEcho = {
    ...base(message, ctx, 'echo', timestamp),
    kind: 'echo',
    messageId: message.message_id,
    ...(text !== undefined ? { text } : {}),
    // The role, verbatim: SHOP (auto replies, FAQ, our own sends), CUSTOMER_SERVICE (a Seller Center agent).
    source: message.sender.role.toUpperCase(),
  };
  out.events.push(echo);
}

/**
 * `tiktok-shop:{shop}:{kind}:{message_id}`. The message id, not `tts_notification_id`: whether a retry keeps its
 * notification id is UNCONFIRMED (§4 Ack), and a message fetched by polling has none. TikTok Shop retries for about
 * 15.5 hours (key fact 16); the store keeps keys for days. Changing the format forwards in-flight redeliveries twice.
 */
function base(message: TikTokShopNewMessage, ctx: MessageContext, kind: 'message' | 'echo', timestamp: number) {
  return {
    channel: TIKTOK_SHOP_CHANNEL,
    accountId: ctx.shopId,
    customerId: message.conversation_id,
    dedupeKey: `${TIKTOK_SHOP_CHANNEL}:${ctx.shopId}:${kind}:${message.message_id}`,
    timestamp,
    threadId: message.conversation_id,
  };
}

function routing(message: TikTokShopNewMessage, ctx: MessageContext): Record<string, string> {
  return { [TTS_ATTR.shop]: ctx.shopId, [TTS_ATTR.conversationId]: message.conversation_id };
}

function idAttributes(content: TikTokShopContent | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (content?.order_id) out[TTS_ATTR.orderId] = content.order_id;
  if (content?.product_id) out[TTS_ATTR.productId] = content.product_id;
  if (content?.sku_id) out[TTS_ATTR.skuId] = content.sku_id;
  if (content?.coupon_id) out[TTS_ATTR.couponId] = content.coupon_id;
  return out;
}

/** `content` is a JSON string (key fact 14): parse twice. Anything unreadable is no content, never a throw. */
function contentOf(raw: unknown): TikTokShopContent | undefined {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      return undefined;
    }
  }
  const parsed = messageContentSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

function deauthorizedAlert(shopId: string): string {
  return (
    `TikTok Shop shop ${shopId} removed its authorization of the bridge's app: no buyer message will arrive and no ` +
    'reply can be sent until the seller authorizes the app again and the connection gets the new tokens.'
  );
}

function expiringAlert(shopId: string, data: unknown): string {
  const notice = authorizationNoticeSchema.safeParse(data);
  const at = notice.success && notice.data.expiration_time !== undefined ? ` on ${new Date(notice.data.expiration_time * 1000).toISOString().slice(0, 10)}` : ' soon';
  return (
    `The TikTok Shop authorization of shop ${shopId} expires${at}: the seller must authorize the app again before then ` +
    "(Partner Center › the app's authorization link), and the connection must get the new tokens."
  );
}

function skip(out: ParseResult, reason: string, detail?: string, alert?: string): void {
  const item: SkippedItem = { channel: TIKTOK_SHOP_CHANNEL, reason };
  if (detail !== undefined) item.detail = detail;
  if (alert !== undefined) item.alert = alert;
  out.skipped.push(item);
}

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * An absolute http(s) URL, as sent; anything else is not shown nor fetched. Only URLs of signed webhooks reach a
 * media reference, and references travel inside the bridge's signed media tokens: /media is no open proxy.
 */
function httpUrl(value: string | undefined): string | undefined {
  if (value === undefined || !URL.canParse(value)) return undefined;
  const { protocol } = new URL(value);
  return protocol === 'https:' || protocol === 'http:' ? value : undefined;
}
