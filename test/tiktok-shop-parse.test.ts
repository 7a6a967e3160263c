import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InboundEcho, InboundMessage } from '../src/core/events.js';
import { TTS_ATTR, parseTikTokShopWebhook, type TikTokShopParseOptions } from '../src/channels/tiktok-shop/parse.js';
import { mutatedDocument } from './json-mutation.js';

const DIR = new URL('./fixtures/tiktok-shop/', import.meta.url);
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`${name}.json`, DIR), 'utf8'));
const SHOP = '7494049642642441621';
const CONVERSATION = '7494560109732334262';
const BUYER = '7494560109732330001';
const ORDER = '576000000000000001';
const links: TikTokShopParseOptions = { orderUrl: (shop, order) => `https://seller-uk.tiktok.com/order/detail?order_no=${order}&shop=${shop}` };

function only<T>(name: string, opts?: TikTokShopParseOptions): T {
  const result = parseTikTokShopWebhook(fixture(name), opts);
  expect(result.skipped).toEqual([]);
  expect(result.events).toHaveLength(1);
  return result.events[0] as T;
}

describe('parseTikTokShopWebhook: buyer messages', () => {
  it('turns a buyer text into a message of the conversation, keyed on the message id', () => {
    expect(only<InboundMessage>('text')).toEqual({
      channel: 'tiktok-shop',
      kind: 'message',
      accountId: SHOP,
      customerId: CONVERSATION,
      threadId: CONVERSATION,
      dedupeKey: `tiktok-shop:${SHOP}:message:7600000000000000123`,
      messageId: '7600000000000000123',
      timestamp: 1772443004_000,
      subtype: 'text',
      text: 'Is this in stock?',
      attributes: { [TTS_ATTR.shop]: SHOP, [TTS_ATTR.conversationId]: CONVERSATION, [TTS_ATTR.buyerImUserId]: BUYER },
      opensWindow: true,
    });
  });

  it('keeps the line breaks of a multi-line text', () => {
    expect(only<InboundMessage>('text-multiline').text).toBe('Hi!\nMy order has not arrived.\n\nCan you check?');
  });

  it('makes an image an attachment whose reference lets the media source fetch it again once the URL expired', () => {
    const message = only<InboundMessage>('image');
    expect(message.subtype).toBe('image');
    expect(message.text).toBeUndefined();
    expect(message.attachment).toEqual({
      mediaType: 'Image',
      url: '',
      mime: 'image/jpeg',
      reference: { kind: 'image', conversationId: CONVERSATION, messageId: message.messageId, url: 'https://p16-oec-va.ibyteimg.com/obj/im/abc' },
    });
  });

  it('makes a video a Video attachment with its format', () => {
    const message = only<InboundMessage>('video');
    expect(message.attachment).toMatchObject({ mediaType: 'Video', mime: 'video/mp4', reference: { kind: 'video', messageId: message.messageId } });
  });

  it('shows an emoticon as its image, or as [sticker] when it has no URL', () => {
    expect(only<InboundMessage>('emoticons').attachment?.mediaType).toBe('Image');
    const env = fixture('emoticons') as { data: { content: string } };
    env.data.content = JSON.stringify({ sticker_id: '77' });
    expect((parseTikTokShopWebhook(env).events[0] as InboundMessage).text).toBe('[sticker]');
  });

  it('shows an order card with its id and its Seller Center link, and routes on the order id', () => {
    const message = only<InboundMessage>('order-card', links);
    expect(message.subtype).toBe('order_card');
    expect(message.text).toBe(`📦 Order card: order ${ORDER} — https://seller-uk.tiktok.com/order/detail?order_no=${ORDER}&shop=${SHOP}`);
    expect(message.attributes[TTS_ATTR.orderId]).toBe(ORDER);
    expect(message.attributes[TTS_ATTR.shop]).toBe(SHOP);
  });

  it('says where to find the order when no link is configured', () => {
    expect(only<InboundMessage>('order-card').text).toBe(`📦 Order card: order ${ORDER} (Seller Center › Orders)`);
  });

  it('shows product, return/refund, coupon and logistics cards with their ids as attributes', () => {
    const product = only<InboundMessage>('product-card');
    expect(product.text).toBe('🛍️ Product card: product 1729384756473829123');
    expect(product.attributes[TTS_ATTR.productId]).toBe('1729384756473829123');
    const refund = only<InboundMessage>('return-refund-card', links);
    expect(refund.text).toMatch(/^↩️ Return\/refund card: order 576000000000000001 \(SKU 1729384756473800042\) — https:/);
    expect(refund.attributes).toMatchObject({ [TTS_ATTR.orderId]: ORDER, [TTS_ATTR.skuId]: '1729384756473800042' });
    const coupon = only<InboundMessage>('coupon-card');
    expect(coupon.text).toBe('🎟️ Coupon card: coupon 7262992004278206762');
    expect(coupon.attributes[TTS_ATTR.couponId]).toBe('7262992004278206762');
    const logistics = only<InboundMessage>('logistics-card');
    expect(logistics.text).toBe(`🚚 Shipping card: order ${ORDER} (Seller Center › Orders)`);
    expect(logistics.attributes[TTS_ATTR.orderId]).toBe(ORDER);
  });

  it('shows OTHER and unknown types as readable text with what is known, never empty', () => {
    const other = only<InboundMessage>('other');
    expect(other.text).toBe('[Unsupported TikTok Shop message – see Seller Center]\nThis message type is not supported. Please check it in Seller Center.');
    const unknown = only<InboundMessage>('unknown-type');
    expect(unknown.subtype).toBe('unsupported');
    expect(unknown.text).toBe('[Unsupported TikTok Shop message – see Seller Center] (type GROUP_BUY_CARD)');
    expect(unknown.attributes[TTS_ATTR.messageType]).toBe('GROUP_BUY_CARD');
    expect(unknown.opensWindow).toBe(true);
  });

  it('tells the agent about an image or text that came without content', () => {
    const image = fixture('image') as { data: { content: string } };
    image.data.content = '{"url":"not a url"}';
    expect((parseTikTokShopWebhook(image).events[0] as InboundMessage).text).toMatch(/image TikTok Shop did not deliver/);
    const text = fixture('text') as { data: { content: string } };
    text.data.content = 'not json';
    expect((parseTikTokShopWebhook(text).events[0] as InboundMessage).text).toBe('[Unsupported TikTok Shop message – see Seller Center]');
  });
});

describe('parseTikTokShopWebhook: context, echoes and noise', () => {
  it('shows where the buyer came from (any sender role) without counting it as the buyer writing', () => {
    const context = only<InboundMessage>('enter-from-order', links);
    expect(context.subtype).toBe('entered_from_order');
    expect(context.text).toMatch(/^ℹ️ The buyer opened this chat from order 576000000000000001 — https:/);
    expect(context.attributes[TTS_ATTR.orderId]).toBe(ORDER);
    expect(context.opensWindow).toBe(false);
    expect(only<InboundMessage>('enter-from-product').attributes[TTS_ATTR.productId]).toBe('1729384756473829123');
  });

  it('makes Seller Center replies and auto replies echoes of the conversation, never buyer messages', () => {
    for (const [name, source] of [['seller-center-reply', 'CUSTOMER_SERVICE'], ['shop-auto-reply', 'SHOP']] as const) {
      const echo = only<InboundEcho>(name);
      expect(echo).toMatchObject({ kind: 'echo', customerId: CONVERSATION, threadId: CONVERSATION, source });
      expect(echo.dedupeKey).toBe(`tiktok-shop:${SHOP}:echo:${echo.messageId}`);
    }
    expect(only<InboundEcho>('seller-center-reply').text).toBe('Hi, it ships today.');
  });

  it('skips the chat bot, system notices, invisible messages, agent changes and creator chats', () => {
    for (const [name, reason] of [
      ['robot', 'bot_message'],
      ['allocated-service', 'system_message'],
      ['notification', 'system_message'],
      ['invisible', 'invisible'],
      ['new-conversation', 'agent_joined_or_left'],
      ['creator-chat', 'creator_chat'],
    ] as const) {
      const result = parseTikTokShopWebhook(fixture(name));
      expect(result.events).toEqual([]);
      expect(result.skipped).toEqual([expect.objectContaining({ channel: 'tiktok-shop', reason })]);
      expect(result.shopId).toBe(SHOP);
    }
  });

  it('alerts the operator, never the agent, when the shop deauthorizes or its authorization expires', () => {
    const gone = parseTikTokShopWebhook(fixture('deauthorization'));
    expect(gone.events).toEqual([]);
    expect(gone.skipped).toEqual([{ channel: 'tiktok-shop', reason: 'shop_deauthorized', detail: `shop ${SHOP}`, alert: expect.stringContaining(`shop ${SHOP} removed its authorization`) }]);
    const expiring = parseTikTokShopWebhook(fixture('authorization-expiring'));
    expect(expiring.events).toEqual([]);
    expect(expiring.skipped[0]).toMatchObject({ reason: 'authorization_expiring', alert: expect.stringContaining('expires on 2026-04-01') });
  });

  it('refuses ids that JSON numbers have already rounded, and unknown senders', () => {
    const rounded = fixture('text') as { shop_id: unknown };
    rounded.shop_id = 7494049642642441621;
    expect(parseTikTokShopWebhook(rounded).skipped[0]?.reason).toBe('malformed');
    const stranger = fixture('text') as { data: { sender: { role: string } } };
    stranger.data.sender.role = 'CREATOR';
    expect(parseTikTokShopWebhook(stranger).skipped[0]).toMatchObject({ reason: 'unknown_sender', detail: 'CREATOR' });
  });

  it('gives a redelivery with another notification id the same dedupe key', () => {
    const again = fixture('text') as { tts_notification_id: string; timestamp: number };
    again.tts_notification_id = '7600000000000000999';
    again.timestamp += 120;
    expect(parseTikTokShopWebhook(again).events[0]!.dedupeKey).toBe(parseTikTokShopWebhook(fixture('text')).events[0]!.dedupeKey);
  });
});

describe('parseTikTokShopWebhook never throws', () => {
  const fixtures = readdirSync(DIR).map((f) => JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as unknown);

  it('for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => void parseTikTokShopWebhook(value, links)), { numRuns: 500 });
  });

  it('for every fixture with one value replaced or removed', () => {
    fc.assert(
      fc.property(mutatedDocument(fixtures), (doc) => {
        const result = parseTikTokShopWebhook(doc, links);
        for (const event of result.events) if (event.kind === 'message') expect(event.text !== undefined || event.attachment !== undefined).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('for any content string of any type, from the buyer', () => {
    const types = fc.constantFrom('TEXT', 'IMAGE', 'VIDEO', 'EMOTICONS', 'PRODUCT_CARD', 'ORDER_CARD', 'RETURN_REFUND_CARD', 'COUPON_CARD', 'LOGISTICS_CARD', 'OTHER', 'X');
    fc.assert(
      fc.property(types, fc.oneof(fc.string(), fc.json()), (type, content) => {
        const env = fixture('text') as { data: Record<string, unknown> };
        env.data.type = type;
        env.data.content = content;
        const result = parseTikTokShopWebhook(env, links);
        expect(result.events).toHaveLength(1);
        const message = result.events[0] as InboundMessage;
        expect(message.text !== undefined || message.attachment !== undefined).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
