/**
 * Every send error of the reference's table (tiktok-shop.md §3 Errors) driven through the fake TikTok Shop
 * (`failNext` on Send Message), over real HTTP, to what the agent and the operator see: the Failed receipt's reason
 * and sentence (ending with TikTok's code and request id), whether it is dead-lettered for an operator (the shop's
 * rule refusals are not), or the retry, refresh or fresh lookup that ends in Delivered. The shop's pauses (429,
 * the daily quota) shared between instances: e2e-tiktok-shop-instances.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger, tempDir } from './helpers.js';
import { buyerOf, deadLettersOf, receiptFor, startShopWorld, type Shop, type ShopWorld } from './tiktok-shop-e2e.js';

const dir = tempDir();
const log = capturedLogger('error');
let world: ShopWorld;
let shop: Shop;
const MAX_ATTEMPTS = 3;

beforeAll(async () => {
  world = await startShopWorld({
    store: `sqlite:${dir.path}/errors.db`,
    logger: log.logger,
    queue: { maxAttempts: MAX_ATTEMPTS },
    shops: [{ connectionId: 'acme-shop', shopId: '7494049642642441621', appKey: '68acmeshop' }],
  });
  [shop] = world.shops as [Shop];
});
afterAll(async () => {
  await world?.close();
  dir.cleanup();
});

/** A buyer writes, TikTok answers the next `times` sends with `code` (HTTP `httpStatus`), an agent replies. */
async function replyMeeting(code: number, times = 1, httpStatus?: number) {
  const buyer = buyerOf(world, shop);
  await buyer.writes('Where is my order?');
  shop.fake.failNext(times, code, httpStatus !== undefined ? { httpStatus } : {});
  const id = await buyer.agentReplies('It left the warehouse today.');
  const receipt = await receiptFor(world, id, 15_000);
  return { buyer, id, receipt, dead: await deadLettersOf(world, id) };
}

const ref = (code: number) => new RegExp(`\\(TikTok Shop error ${code}, request_id \\w+\\)$`);
const HTTP = (status: number) => new RegExp(`\\(HTTP ${status}, request_id \\w+\\)$`);

describe('final answers: a Failed receipt with the reason and a sentence for the agent', () => {
  // [code, Genesys reason, the agent's sentence, dead-lettered for an operator?]
  it.each([
    [45109001, 'MessageExpired', /TikTok Shop closed this conversation.*Wait for the buyer to write again/, false],
    [45109003, 'MessageNotAllowed', /lets a seller write to a buyer only if .* last 30 days.* last 60 days.*return or refund/, false],
    [45101006, 'MessageNotAllowed', /contains words its policies do not allow\. Rephrase it/, false],
    [45101001, 'InvalidMessageStructure', /rejected the message as invalid \("Injected error 45101001"\)/, true],
    [45101002, 'InvalidMessageStructure', /return\/refund card: the order does not meet the after-sale conditions/, false],
    [45111017, 'InvalidMessageStructure', /coupon card: only ongoing chat or regular Seller Center coupons/, false],
    [45101003, 'InvalidDestination', /does not know this conversation any more/, true],
    [45102007, 'InvalidDestination', /may not access this conversation\. Answer it from Seller Center/, true],
    [45111001, 'MediaTypeNotAllowed', /does not support this kind of message/, false],
    [105005, 'GeneralError', /An administrator must fix .*Customer Service scope/, true],
    [101000, 'GeneralError', /An administrator must fix .*access token does not belong to this shop/, true],
    [106001, 'GeneralError', /An administrator must fix .*rejected the request signature/, true],
    [36009004, 'GeneralError', /An administrator must fix .*credentials, the request time or the API version/, true],
    [36009033, 'GeneralError', /An administrator must fix .*IP allow list/, true],
  ] as const)('%i → Failed %s', async (code, reason, sentence, deadLettered) => {
    const { buyer, receipt, dead } = await replyMeeting(code);
    expect(receipt.status).toBe('Failed');
    expect(receipt.reasons).toEqual([{ code: reason, message: expect.stringMatching(sentence) }]);
    expect(receipt.reasons![0]!.message).toMatch(ref(code));
    expect(dead.length).toBe(deadLettered ? 1 : 0);
    expect(buyer.sends()).toEqual([]);
  });

  it('logs the codes that need an administrator at error level, with the code and request id, never a token', async () => {
    const { receipt } = await replyMeeting(105005);
    const line = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'tiktok_shop.request_failed' && l.code === 105005 && receipt.reasons![0]!.message.includes(String(l.requestId)));
    expect(line).toMatchObject({ level: 50, operation: 'send', connectionId: 'acme-shop' });
    expect(log.text()).not.toContain(shop.fake.currentTokens().accessToken);
    expect(log.text()).not.toContain(shop.appSecret);
  });
});

describe('answers worth another try', () => {
  it.each([[36009003], [36009007], [45101008]])('%i (internal error, timeout): retried, then Delivered once', async (code) => {
    const { buyer, receipt } = await replyMeeting(code, MAX_ATTEMPTS - 1);
    expect(receipt.status).toBe('Delivered');
    expect(buyer.sends()).toHaveLength(1);
  });

  it.each([[36009003], [36009007], [45101008]])('%i on every attempt: Failed ServerError once the attempts run out, dead-lettered; the next reply goes out', async (code) => {
    const { buyer, receipt, dead } = await replyMeeting(code, MAX_ATTEMPTS);
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'ServerError', message: expect.stringMatching(/temporary problem; the bridge retried/) }] });
    expect(receipt.reasons![0]!.message).toMatch(ref(code));
    expect(dead).toHaveLength(1);
    // Once TikTok answers again: the success also resets the shop's breaker (it opens after 5 failures in a row).
    expect((await receiptFor(world, await buyer.agentReplies('Sorry, here it is again: it left today.'))).status).toBe('Delivered');
  });

  it.each([
    [36009002, 200],
    [36009002, 429],
    [0, 429],
    [0, 503],
  ])('throttled (code %i, HTTP %i): the shop waits a second, then Delivered once', async (code, status) => {
    const { buyer, receipt } = await replyMeeting(code, 1, status);
    expect(receipt.status).toBe('Delivered');
    const [refused, accepted, ...more] = shop.fake.calls.filter((c) => c.request === `POST /customer_service/202309/conversations/${buyer.conversationId}/messages`);
    expect(refused!.code).toBe(code);
    expect(accepted!.at - refused!.at).toBeGreaterThanOrEqual(900);
    expect(more).toEqual([]);
  });

  it.each([
    [36009002, 200, ref(36009002)],
    [0, 503, HTTP(503)],
  ])('throttled (code %i, HTTP %i) on every attempt: Failed RateLimited once the attempts run out', async (code, status, reference) => {
    const { receipt } = await replyMeeting(code, MAX_ATTEMPTS, status);
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'RateLimited', message: expect.stringMatching(/limiting how many requests the bridge may make for this shop/) }] });
    expect(receipt.reasons![0]!.message).toMatch(reference);
  });

  it('105002 (token expired): refreshed once, the send repeated with the new token, Delivered', async () => {
    const refreshes = shop.fake.refreshes.length;
    const { buyer, receipt } = await replyMeeting(105002);
    expect(receipt.status).toBe('Delivered');
    expect(shop.fake.refreshes.slice(refreshes)).toEqual([expect.objectContaining({ ok: true })]);
    expect(buyer.sends()[0]!.accessToken).toBe(shop.fake.currentTokens().accessToken);
  });

  it('105002 again after the refresh: Failed GeneralError, the seller must authorize the app again', async () => {
    const { receipt, dead } = await replyMeeting(105002, 2);
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'GeneralError', message: expect.stringMatching(/no longer accepts the bridge's access token .*authorize the app again/) }] });
    expect(receipt.reasons![0]!.message).toMatch(ref(105002));
    expect(dead).toHaveLength(1);
  });

  it('106013 (no such shop cipher): the cipher looked up again once, Delivered; refused again, Failed GeneralError', async () => {
    const lookups = () => shop.fake.traffic.filter((t) => t === 'GET /authorization/202309/shops → 0').length;
    const before = lookups();
    expect((await replyMeeting(106013)).receipt.status).toBe('Delivered');
    expect(lookups()).toBe(before + 1);
    const { receipt, dead } = await replyMeeting(106013, 2);
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'GeneralError', message: expect.stringMatching(/did not accept the shop cipher/) }] });
    expect(receipt.reasons![0]!.message).toMatch(ref(106013));
    expect(dead).toHaveLength(1);
  });
});
