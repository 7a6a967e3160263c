/**
 * TikTok Shop end to end over real HTTP, buyer → agent: the fake TikTok Shop plays the buyer with signed webhooks,
 * the bridge (startServer) delivers to the fake Genesys, whose strict schema accepts every message. What the agent
 * reads for every buyer message type of the reference, the routing attributes, what is never the buyer's (Seller
 * Center replies, the chat bot, our own sends, authorization notices), redeliveries; and one reply the other way.
 * Replies in depth: e2e-tiktok-shop-replies.test.ts; TikTok's errors: e2e-tiktok-shop-errors.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signTikTokShopWebhook } from '../src/channels/tiktok-shop/verify.js';
import { capturedLogger, eventually, tempDir } from './helpers.js';
import { buyerOf, metric, receiptFor, startShopWorld, type Shop, type ShopWorld } from './tiktok-shop-e2e.js';

const dir = tempDir();
const log = capturedLogger('error');
let world: ShopWorld;
let shop: Shop;
/** forwardAppReplies: true. */
let mirrored: Shop;

beforeAll(async () => {
  world = await startShopWorld({
    store: `sqlite:${dir.path}/shop.db`,
    logger: log.logger,
    shops: [
      { connectionId: 'acme-shop', shopId: '7494049642642441621', appKey: '68acmeshop' },
      { connectionId: 'acme-shop-mirrored', shopId: '7494049642642448888', appKey: '68acmemirror', settings: { forwardAppReplies: true } },
    ],
  });
  [shop, mirrored] = world.shops as [Shop, Shop];
});
afterAll(async () => {
  await world?.close();
  dir.cleanup();
});

const ORDER = '576000000000000001';
const LINK = `https://seller-uk.tiktok.com/order/detail?order_no=${ORDER}&shop_region=GB`;
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...Array.from({ length: 300 }, (_, i) => i % 251), 0xff, 0xd9]);

describe('a signed buyer message reaches Genesys readable', () => {
  it('text with its line breaks, from the conversation, with the buyer’s name and the attributes Architect routes on', async () => {
    const buyer = buyerOf(world, shop);
    const { atGenesys, webhook } = await buyer.writes('Is the blue mug in stock?\nAnd in red?');
    expect(webhook!.headers.authorization).toBe(signTikTokShopWebhook(webhook!.body, { appKey: shop.appKey, appSecret: shop.appSecret }));
    expect(atGenesys.text).toBe('Is the blue mug in stock?\nAnd in red?');
    expect(atGenesys.channel.from).toMatchObject({ id: buyer.conversationId, firstName: 'Buyer' });
    expect(atGenesys.channel.metadata.customAttributes).toMatchObject({
      'dmbridge.channel': 'tiktok-shop',
      'dmbridge.source': 'TikTok Shop chat',
      'dmbridge.account': shop.shopId,
      'dmbridge.tiktokshop.shop': shop.shopId,
      'dmbridge.tiktokshop.conversationId': buyer.conversationId,
      'dmbridge.tiktokshop.buyerImUserId': buyer.buyer.imUserId,
    });
  });

  it('refuses a body whose signature does not match with 401, and stores nothing', async () => {
    const buyer = buyerOf(world, shop);
    const { webhook } = await buyer.writes('first');
    const forged = webhook!.body.replace('first', 'forged');
    const res = await fetch(`${world.bridges[0]!.url}/webhooks/tiktok-shop`, { method: 'POST', headers: webhook!.headers, body: forged });
    expect(res.status).toBe(401);
    await buyer.writes('sentinel');
    expect(buyer.atGenesys().map((m) => m.text)).toEqual(['first', 'sentinel']);
  });

  it('an image through the bridge’s /media route: the very bytes, also once TikTok’s signed URL expired', async () => {
    const buyer = buyerOf(world, shop);
    const { atGenesys } = await buyer.writes({ type: 'IMAGE', content: { width: '304', height: '290' }, imageBytes: JPEG });
    const attachment = atGenesys.content![0]!.attachment;
    expect(attachment.mediaType).toBe('Image');
    expect(attachment.url.startsWith(`${world.bridges[0]!.url}/media/`)).toBe(true);
    expect(Buffer.from(await (await fetch(attachment.url)).arrayBuffer()).equals(Buffer.from(JPEG))).toBe(true);
    shop.fake.expireMediaUrls();
    expect(Buffer.from(await (await fetch(attachment.url)).arrayBuffer()).equals(Buffer.from(JPEG))).toBe(true);
    expect(shop.fake.traffic.some((t) => t.startsWith(`GET /customer_service/202309/conversations/${buyer.conversationId}/messages → 0`))).toBe(true);
    expect((await fetch(`${attachment.url.slice(0, -4)}AAAA`)).status).toBe(403);
  });

  it('a video through /media as a Video attachment: the very bytes', async () => {
    const mp4 = new Uint8Array([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x6d, 0x70, 0x34, 0x32, ...Array.from({ length: 200 }, (_, i) => i)]);
    const { atGenesys } = await buyerOf(world, shop).writes({ type: 'VIDEO', content: { width: '720', height: '1280', duration: '20.504', format: 'mp4' }, imageBytes: mp4 });
    const attachment = atGenesys.content![0]!.attachment;
    expect(attachment).toMatchObject({ mediaType: 'Video', mime: 'video/mp4' });
    const served = await fetch(attachment.url);
    expect(served.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await served.arrayBuffer()).equals(Buffer.from(mp4))).toBe(true);
  });

  it('an order card with the order id and the Seller Center link, the order id an attribute Architect can route on', async () => {
    const buyer = buyerOf(world, shop);
    const { atGenesys } = await buyer.writes({ type: 'ORDER_CARD', content: { order_id: ORDER } });
    expect(atGenesys.text).toBe(`📦 Order card: order ${ORDER} — ${LINK}`);
    expect(atGenesys.channel.metadata.customAttributes).toMatchObject({ 'dmbridge.channel': 'tiktok-shop', 'dmbridge.tiktokshop.shop': shop.shopId, 'dmbridge.tiktokshop.orderId': ORDER });
  });

  it('shows that the buyer opened the chat from an order (a notice from TikTok itself), with the order id', async () => {
    const buyer = buyerOf(world, shop);
    const posted = await shop.fake.shopSends(buyer.conversationId, { type: 'BUYER_ENTER_FROM_ORDER', content: { order_id: ORDER } }, 'SYSTEM');
    expect(await eventually(() => buyer.atGenesys().some((m) => m.channel.messageId === posted.messageId))).toBe(true);
    const [context] = buyer.atGenesys();
    expect(context!.text).toBe(`ℹ️ The buyer opened this chat from order ${ORDER} — ${LINK}`);
    expect(context!.channel.metadata.customAttributes['dmbridge.tiktokshop.orderId']).toBe(ORDER);
  });

  it.each([
    ['PRODUCT_CARD', { product_id: '1729384756473829123' }, '🛍️ Product card: product 1729384756473829123', { 'dmbridge.tiktokshop.productId': '1729384756473829123' }],
    ['RETURN_REFUND_CARD', { order_id: ORDER, sku_id: '1729000000000000042' }, `↩️ Return/refund card: order ${ORDER} (SKU 1729000000000000042) — ${LINK}`, { 'dmbridge.tiktokshop.orderId': ORDER, 'dmbridge.tiktokshop.skuId': '1729000000000000042' }],
    ['COUPON_CARD', { coupon_id: '7300000000000000077' }, '🎟️ Coupon card: coupon 7300000000000000077', { 'dmbridge.tiktokshop.couponId': '7300000000000000077' }],
    ['LOGISTICS_CARD', { order_id: ORDER }, `🚚 Shipping card: order ${ORDER} — ${LINK}`, { 'dmbridge.tiktokshop.orderId': ORDER }],
    ['OTHER', { content: 'A message type this app does not support' }, '[Unsupported TikTok Shop message – see Seller Center]\nA message type this app does not support', {}],
    ['VOICE_NOTE', { content: 'Voice message 0:07', order_id: ORDER }, `[Unsupported TikTok Shop message – see Seller Center] (type VOICE_NOTE)\norder ${ORDER} — ${LINK}\nVoice message 0:07`, { 'dmbridge.tiktokshop.messageType': 'VOICE_NOTE', 'dmbridge.tiktokshop.orderId': ORDER }],
  ])('%s as readable text with every id it carries', async (type, content, text, attributes) => {
    const { atGenesys } = await buyerOf(world, shop).writes({ type, content });
    expect(atGenesys.text).toBe(text);
    expect(atGenesys.channel.metadata.customAttributes).toMatchObject(attributes);
  });

  it('an emoticon as an image through /media when it has a picture, else as [sticker]', async () => {
    const buyer = buyerOf(world, shop);
    const { atGenesys } = await buyer.writes({ type: 'EMOTICONS', content: { width: '120', height: '120' }, imageBytes: JPEG });
    const attachment = atGenesys.content![0]!.attachment;
    expect(attachment.mediaType).toBe('Image');
    expect(Buffer.from(await (await fetch(attachment.url)).arrayBuffer()).equals(Buffer.from(JPEG))).toBe(true);
    // Its content is undocumented: one without a URL still reads as something.
    const data = { conversation_id: buyer.conversationId, message_id: '7600000000000777001', type: 'EMOTICONS', content: '{"emoticon_id":"e1"}', create_time: Math.floor(world.now() / 1000), is_visible: true, sender: { im_user_id: buyer.buyer.imUserId, role: 'BUYER' } };
    expect((await shop.fake.postWebhook({ type: 14, tts_notification_id: '7600000000000777002', shop_id: shop.shopId, timestamp: Math.floor(world.now() / 1000), data })).status).toBe(200);
    expect(await eventually(() => buyer.atGenesys().some((m) => m.channel.messageId === data.message_id && m.text === '[sticker]'))).toBe(true);
  });
});

describe('what is not the buyer never reaches the agent as the buyer', () => {
  it('Seller Center replies and auto replies are shown as app replies only with forwardAppReplies; the chat bot never', async () => {
    const skipped = (reason: string) => metric(world.bridges[0]!, 'dmbridge_events_skipped_total', { channel: 'tiktok-shop', reason });
    const quiet = buyerOf(world, shop);
    await quiet.writes('Hello?');
    const dropped = await skipped('echo_app');
    await shop.fake.shopSends(quiet.conversationId, { type: 'TEXT', content: { content: 'Hi, it ships today.' } }, 'CUSTOMER_SERVICE');
    expect(await eventually(async () => (await skipped('echo_app')) === dropped + 1)).toBe(true);
    await quiet.writes('Thanks');
    expect(quiet.atGenesys().map((m) => m.text)).toEqual(['Hello?', 'Thanks']);

    const loud = buyerOf(world, mirrored);
    const shown = (text: string) => eventually(() => loud.atGenesys().some((m) => m.text === `[Not from the customer] The brand replied from TikTok Shop Seller Center: ${text}`));
    await loud.writes('Hello?');
    await mirrored.fake.shopSends(loud.conversationId, { type: 'TEXT', content: { content: 'Hi, it ships today.' } }, 'CUSTOMER_SERVICE');
    expect(await shown('Hi, it ships today.')).toBe(true);
    await mirrored.fake.shopSends(loud.conversationId, { type: 'TEXT', content: { content: 'We answer within 2 hours.' } }, 'SHOP');
    expect(await shown('We answer within 2 hours.')).toBe(true);
    await mirrored.fake.shopSends(loud.conversationId, { type: 'TEXT', content: { content: 'I am the shop assistant bot.' } }, 'ROBOT');
    expect(await skipped('bot_message')).toBe(1);
    await loud.writes('Thanks');
    expect(loud.atGenesys().map((m) => m.text)).toEqual([
      'Hello?',
      '[Not from the customer] The brand replied from TikTok Shop Seller Center: Hi, it ships today.',
      '[Not from the customer] The brand replied from TikTok Shop Seller Center: We answer within 2 hours.',
      'Thanks',
    ]);
    expect(loud.atGenesys()[1]!.channel.metadata.customAttributes['dmbridge.note']).toBe('app_reply');
  });

  it('our own send is recognised by its message id, though its echo arrives before the send is answered', async () => {
    const buyer = buyerOf(world, mirrored);
    await buyer.writes('Is it gift wrapped?');
    const ours = () => metric(world.bridges[0]!, 'dmbridge_events_skipped_total', { channel: 'tiktok-shop', reason: 'echo_bridge' });
    const before = await ours();
    const id = await buyer.agentReplies('Yes, with a card.');
    expect((await receiptFor(world, id)).status).toBe('Delivered');
    const [sent] = buyer.sends();
    const echo = mirrored.fake.echoes.find((e) => e.body.includes(sent!.messageId));
    expect(echo?.status).toBe(200);
    expect(await eventually(async () => (await ours()) === before + 1)).toBe(true);
    await buyer.writes('Lovely');
    expect(buyer.atGenesys().map((m) => m.text)).toEqual(['Is it gift wrapped?', 'Lovely']);
  });

  it('types 6 and 7 (deauthorized, authorization expiring) reach the operator — an error log and a metric — never the agent', async () => {
    const before = world.genesys.messages.length;
    const notice = (type: number, data: Record<string, unknown>) => ({ type, tts_notification_id: `76000000000000${type}0099`, shop_id: shop.shopId, timestamp: Math.floor(world.now() / 1000), data });
    expect((await shop.fake.postWebhook(notice(6, { message: `Shop_id ${shop.shopId} is deauthorized from your APP by merchant.` }))).status).toBe(200);
    expect((await shop.fake.postWebhook(notice(7, { message: 'Authorization is expiring in 30 days.', expiration_time: '1775035400' }))).status).toBe(200);
    expect(log.text()).toContain(`TikTok Shop shop ${shop.shopId} removed its authorization of the bridge's app`);
    expect(log.text()).toContain(`The TikTok Shop authorization of shop ${shop.shopId} expires on 2026-04-01`);
    expect(JSON.parse(log.lines.find((l) => l.includes('removed its authorization'))!).level).toBe(50);
    for (const reason of ['shop_deauthorized', 'authorization_expiring']) {
      expect(await metric(world.bridges[0]!, 'dmbridge_events_skipped_total', { channel: 'tiktok-shop', reason })).toBe(1);
    }
    expect(world.genesys.messages.length).toBe(before);
  });

  it('a redelivery (same tts_notification_id, same message id) is delivered once, and so is a retry with a new notification id', async () => {
    const buyer = buyerOf(world, shop);
    const { webhook } = await buyer.writes('Where is my parcel?');
    const post = (body: string) =>
      fetch(`${world.bridges[0]!.url}/webhooks/tiktok-shop`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: signTikTokShopWebhook(body, shop) }, body });
    const again = await post(webhook!.body);
    expect(again.status).toBe(200);
    expect(await again.text()).toBe('');
    const renumbered = JSON.stringify({ ...JSON.parse(webhook!.body), tts_notification_id: '7699999999999999999' });
    expect((await post(renumbered)).status).toBe(200);
    await buyer.writes('sentinel');
    expect(buyer.atGenesys().map((m) => m.text)).toEqual(['Where is my parcel?', 'sentinel']);
  });
});

describe('an agent reply back to the buyer', () => {
  it('checks the conversation, marks it read, sends it signed with the current token, and reports Delivered', async () => {
    const buyer = buyerOf(world, shop);
    await buyer.writes('Does it ship to Leeds?');
    const from = shop.fake.calls.length;
    const id = await buyer.agentReplies('Yes, next day.');
    expect((await receiptFor(world, id)).status).toBe('Delivered');
    expect(buyer.sends().map((s) => s.body)).toEqual([{ type: 'TEXT', content: '{"content":"Yes, next day."}' }]);
    expect(buyer.sends()[0]!.accessToken).toBe(shop.fake.currentTokens().accessToken);
    const path = `/customer_service/202309/conversations`;
    expect(shop.fake.calls.slice(from).map((c) => `${c.request} → ${c.code}`)).toEqual([
      `GET ${path} → 0`,
      `POST ${path}/${buyer.conversationId}/messages/read → 0`,
      `POST ${path}/${buyer.conversationId}/messages → 0`,
    ]);
  });
});
