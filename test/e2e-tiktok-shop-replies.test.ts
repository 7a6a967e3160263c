/**
 * TikTok Shop end to end over real HTTP, agent → buyer: replies from the fake Genesys through the bridge to the fake
 * TikTok Shop (which checks every signature, token and cipher, and closes conversations by TikTok's rules on the
 * clock the test moves), and the receipts back. Long texts, images, the 6-hour close and the reopen path, and the
 * reply rules checked before calling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { HOUR, PNG, agentImage, buyerOf, deadLettersOf, receiptFor, startShopWorld, type Shop, type ShopWorld } from './tiktok-shop-e2e.js';

const dir = tempDir();
let world: ShopWorld;
let shop: Shop;
/** reopenClosedConversations: false. */
let strict: Shop;

beforeAll(async () => {
  world = await startShopWorld({
    store: `sqlite:${dir.path}/replies.db`,
    shops: [
      { connectionId: 'acme-shop', shopId: '7494049642642441621', appKey: '68acmeshop' },
      { connectionId: 'acme-shop-strict', shopId: '7494049642642447777', appKey: '68acmestrict', settings: { reopenClosedConversations: false } },
    ],
  });
  [shop, strict] = world.shops as [Shop, Shop];
});
afterAll(async () => {
  await world?.close();
  dir.cleanup();
});

const CONVERSATIONS = '/customer_service/202309/conversations';
/** The API calls the shop's fake answered since `from`, as `METHOD /path → code`. */
const callsSince = (s: Shop, from: number) => s.fake.calls.slice(from).map((c) => `${c.request} → ${c.code}`);

describe('what an agent sends', () => {
  it('a text over 2,000 characters: parts of at most 2,000, each signed and accepted, joining back to the text; one Delivered', async () => {
    const buyer = buyerOf(world, shop);
    await buyer.writes('Tell me everything about the mug.');
    const text = Array.from({ length: 60 }, (_, i) => `Sentence ${i} about the stoneware mug 🍵 and its glaze.`).join(' ');
    expect(text.length).toBeGreaterThan(2000);
    const id = await buyer.agentReplies(text);
    expect((await receiptFor(world, id)).status).toBe('Delivered');
    const parts = buyer.sends().map((s) => (JSON.parse(s.body.content) as { content: string }).content);
    expect(parts.length).toBe(2);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(2000);
    expect(parts.join('')).toBe(text);
    expect(world.genesys.receipts.filter((r) => (r.body as { id: string }).id === id)).toHaveLength(1);
  });

  it('an image: downloaded from Genesys with its token, uploaded through the CS image upload, sent as IMAGE with the uploaded URL', async () => {
    const buyer = buyerOf(world, shop);
    await buyer.writes('Can I see it?');
    const attachment = agentImage(world, 'photo');
    const id = await buyer.agentReplies(undefined, { attachments: [attachment] });
    expect((await receiptFor(world, id)).status).toBe('Delivered');
    const upload = shop.fake.uploads.at(-1)!;
    expect(upload).toMatchObject({ bytes: PNG.length, mime: 'image/png', filename: 'photo.png' });
    expect(shop.fake.uploadedBytes.get(upload.url)).toEqual(PNG);
    // The bearer token went to Genesys's downloads endpoint, never to the storage its redirect led to.
    const fileId = new URL(attachment.url).pathname.split('/').pop()!;
    const seen = world.genesys.downloadRequests.filter((r) => r.path.endsWith(`/${fileId}`));
    expect(seen.map((r) => [r.origin, r.status, r.authorization?.startsWith('Bearer ') ?? false])).toEqual([
      ['downloads', 302, true],
      ['storage', 200, false],
    ]);
    expect(buyer.sends().map((s) => s.body)).toEqual([{ type: 'IMAGE', content: JSON.stringify({ url: upload.url, width: 1280, height: 720 }) }]);
  });

  it('an image over 10 MB: a Failed receipt saying so, nothing uploaded or sent, no dead letter', async () => {
    const buyer = buyerOf(world, shop);
    await buyer.writes('Send me the catalogue');
    const uploads = shop.fake.uploads.length;
    const id = await buyer.agentReplies(undefined, { attachments: [agentImage(world, 'huge')] });
    const receipt = await receiptFor(world, id);
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'InvalidMediaContentLength', message: expect.stringMatching(/only accepts images up to 10 MB in chat; the image "huge\.jpg"/) }] });
    expect(shop.fake.uploads.length).toBe(uploads);
    expect(buyer.sends()).toEqual([]);
    expect(await deadLettersOf(world, id)).toEqual([]);
  });

  it('a video: refused before any call, as TikTok Shop chat cannot carry it', async () => {
    const buyer = buyerOf(world, shop);
    await buyer.writes('Is there a video?');
    const from = shop.fake.calls.length;
    const id = await buyer.agentReplies('Here it is', { attachments: [{ mediaType: 'Video', url: `${world.attachments}/clip.mp4`, mime: 'video/mp4' }] });
    expect((await receiptFor(world, id)).reasons?.[0]?.code).toBe('MediaTypeNotAllowed');
    expect(callsSince(shop, from)).toEqual([]);
  });
});

describe('the reply rules', () => {
  it('6 hours after a reply the buyer left unanswered TikTok closes the conversation: the bridge reopens it first, then delivers', async () => {
    const buyer = buyerOf(world, shop);
    await buyer.writes('Can I change the colour?');
    expect((await receiptFor(world, await buyer.agentReplies('Which colour would you like?'))).status).toBe('Delivered');
    world.advance(6 * HOUR + 60_000);
    expect(shop.fake.isClosed(buyer.conversationId)).toBe(true);
    const from = shop.fake.calls.length;
    const id = await buyer.agentReplies('Just checking in: shall I change it to red?');
    expect((await receiptFor(world, id)).status).toBe('Delivered');
    expect(shop.fake.creates.at(-1)).toBe(buyer.buyer.userId);
    expect(callsSince(shop, from)).toEqual([
      `GET ${CONVERSATIONS} → 0`,
      `POST ${CONVERSATIONS} → 0`,
      `POST ${CONVERSATIONS}/${buyer.conversationId}/messages/read → 0`,
      `POST ${CONVERSATIONS}/${buyer.conversationId}/messages → 0`,
    ]);
    expect(buyer.sends()).toHaveLength(2);
  });

  it('without reopening (reopenClosedConversations: false) the reply fails before any call, saying when it closed', async () => {
    const buyer = buyerOf(world, strict);
    await buyer.writes('Do you have it in blue?');
    expect((await receiptFor(world, await buyer.agentReplies('Let me check.'))).status).toBe('Delivered');
    world.advance(6 * HOUR + 60_000);
    const from = strict.fake.calls.length;
    const id = await buyer.agentReplies('Yes, we do!');
    const receipt = await receiptFor(world, id);
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'MessageExpired', message: expect.stringMatching(/closed at \d\d:\d\d UTC.*does not reopen closed conversations/) }] });
    expect(callsSince(strict, from)).toEqual([]);
    expect(await deadLettersOf(world, id)).toEqual([]);
    // The buyer writing again opens it: the next reply goes out.
    await buyer.writes('Great, I will take it.');
    expect((await receiptFor(world, await buyer.agentReplies('Wonderful.'))).status).toBe('Delivered');
  });

  it('a closed conversation whose buyer TikTok does not let the shop write to: refused after the check, never reopened nor sent', async () => {
    const buyer = buyerOf(world, shop);
    await buyer.writes('Is the sale still on?');
    expect((await receiptFor(world, await buyer.agentReplies('Until Sunday.'))).status).toBe('Delivered');
    world.advance(6 * HOUR + 60_000);
    shop.fake.allowSending(buyer.conversationId, false);
    const creates = shop.fake.creates.length;
    const id = await buyer.agentReplies('Still interested?');
    const receipt = await receiptFor(world, id);
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'MessageNotAllowed', message: expect.stringMatching(/closed at .*last 30 days.*last 60 days.*return or refund/) }] });
    expect(shop.fake.creates.length).toBe(creates);
    expect(buyer.sends()).toHaveLength(1);
    expect(await deadLettersOf(world, id)).toEqual([]);
  });

  it('an open conversation TikTok says the shop may not write in: refused before sending', async () => {
    const buyer = buyerOf(world, shop);
    await buyer.writes('Hello');
    shop.fake.allowSending(buyer.conversationId, false);
    const id = await buyer.agentReplies('Hi there');
    expect(await receiptFor(world, id)).toMatchObject({ status: 'Failed', reasons: [{ code: 'MessageExpired', message: expect.stringMatching(/closed earlier than the bridge counted/) }] });
    expect(buyer.sends()).toEqual([]);
    expect(await deadLettersOf(world, id)).toEqual([]);
  });

  it('a conversation TikTok closed earlier than the bridge counted (45109001): Failed MessageExpired, no dead letter', async () => {
    const buyer = buyerOf(world, shop);
    await buyer.writes('Are you open on Sundays?');
    shop.fake.closeConversation(buyer.conversationId);
    const id = await buyer.agentReplies('We are!');
    const receipt = await receiptFor(world, id);
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'MessageExpired', message: expect.stringMatching(/TikTok Shop closed this conversation.*\(TikTok Shop error 45109001, request_id \w+\)$/) }] });
    expect(await deadLettersOf(world, id)).toEqual([]);
  });
});
