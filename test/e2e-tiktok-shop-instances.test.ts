/**
 * Two bridges (startServer) on one PostgreSQL store serving one TikTok Shop, over real HTTP: what the shop's
 * authorization and limits share between instances. The shop cipher found once and kept; the access token refreshed
 * once for both, the rotated refresh token persisted and used by the other; a 429 pausing the shop on every instance
 * for a second and the daily quota until 00:00 UTC; re-authorization signalled when TikTok refuses the refresh.
 * Where an instance must be the one that runs a job, the other's worker is stopped for that step.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TTS_SHOP_NAMESPACE, TTS_TOKEN_NAMESPACE, type TikTokShopRecord, type TikTokShopTokenRecord } from '../src/channels/tiktok-shop/auth.js';
import { capturedLogger, eventually } from './helpers.js';
import { buyerOf, deadLettersOf, metric, receiptFor, startShopWorld, type Shop, type ShopWorld } from './tiktok-shop-e2e.js';

const PG_URL = process.env.DMBRIDGE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `dmb_tts_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
const log = capturedLogger('error');
let world: ShopWorld;
let shop: Shop;

beforeAll(async () => {
  world = await startShopWorld({
    store: PG_URL,
    postgres: { schema, poolSize: 4 },
    bridges: 2,
    logger: log.logger,
    shops: [{ connectionId: 'acme-shop', shopId: '7494049642642441621', appKey: '68acmeshop' }],
  });
  [shop] = world.shops as [Shop];
});
afterAll(async () => {
  await world?.close();
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

/** Only bridge `i` runs jobs (both still take webhooks). */
async function onlyWorker(i: number) {
  await Promise.all(world.bridges.map((b, j) => (j === i ? undefined : b.bridge.worker.stop())));
  world.bridges[i]!.bridge.worker.start();
}
function allWorkers() {
  for (const b of world.bridges) b.bridge.worker.start();
}
const store = (i: number) => world.bridges[i]!.bridge.store;
const authorizedShopsCalls = () => shop.fake.traffic.filter((t) => t.startsWith('GET /authorization/202309/shops')).length;
const okRefreshes = () => shop.fake.refreshes.filter((r) => r.ok).length;

describe('two bridges, one store, one shop', () => {
  it('find the shop cipher once through the authorized-shops call and keep it for both', async () => {
    await onlyWorker(0);
    const buyer = buyerOf(world, shop);
    await buyer.writes('Hello from Leeds');
    expect((await receiptFor(world, await buyer.agentReplies('Hello!'))).status).toBe('Delivered');
    expect(authorizedShopsCalls()).toBe(1);
    expect(await store(1).getRecord<TikTokShopRecord>(TTS_SHOP_NAMESPACE, shop.connectionId)).toMatchObject({ cipher: `ROW_${shop.connectionId}AAAA0001`, region: 'GB' });

    await onlyWorker(1);
    expect((await receiptFor(world, await buyer.agentReplies('Anything else?', {}, world.bridges[1]))).status).toBe('Delivered');
    expect(authorizedShopsCalls()).toBe(1);
    expect(buyer.sends()).toHaveLength(2);
  });

  it('refresh an expired access token once; the rotated refresh token is persisted and the other bridge uses the new token', async () => {
    await onlyWorker(0);
    const buyer = buyerOf(world, shop);
    await buyer.writes('Is it back in stock?');
    const configured = shop.fake.currentTokens();
    shop.fake.expireAccessToken();
    expect((await receiptFor(world, await buyer.agentReplies('Yes, since Monday.'))).status).toBe('Delivered');
    expect(okRefreshes()).toBe(1);
    const rotated = shop.fake.currentTokens();
    expect(rotated.refreshToken).not.toBe(configured.refreshToken);
    const stored = await store(1).getRecord<TikTokShopTokenRecord>(TTS_TOKEN_NAMESPACE, shop.connectionId);
    expect(stored).toMatchObject({ accessToken: rotated.accessToken, refreshToken: rotated.refreshToken });

    await onlyWorker(1);
    expect((await receiptFor(world, await buyer.agentReplies('Shall I reserve one?', {}, world.bridges[1]))).status).toBe('Delivered');
    expect(okRefreshes()).toBe(1);
    expect(buyer.sends().at(-1)!.accessToken).toBe(rotated.accessToken);
  });

  it('refresh once when both bridges find the token expired at the same time', async () => {
    allWorkers();
    const buyers = Array.from({ length: 6 }, () => buyerOf(world, shop));
    for (const buyer of buyers) await buyer.writes('Any news?');
    const before = okRefreshes();
    shop.fake.expireAccessToken();
    const ids = await Promise.all(buyers.map((buyer, i) => buyer.agentReplies(`News ${i}`, {}, world.bridges[i % 2])));
    for (const id of ids) expect((await receiptFor(world, id, 15_000)).status).toBe('Delivered');
    expect(okRefreshes()).toBe(before + 1);
    expect(shop.fake.refreshes.filter((r) => !r.ok)).toEqual([]);
    const current = shop.fake.currentTokens();
    for (const buyer of buyers) expect(buyer.sends()[0]!.accessToken).toBe(current.accessToken);
    expect(await store(0).getRecord<TikTokShopTokenRecord>(TTS_TOKEN_NAMESPACE, shop.connectionId)).toMatchObject({ refreshToken: current.refreshToken });
  });

  it('a 429 on one bridge pauses the shop on the other for a second: its reply to another buyer waits, then both go out', async () => {
    await onlyWorker(0);
    const first = buyerOf(world, shop);
    const second = buyerOf(world, shop);
    await first.writes('Is the lid dishwasher safe?');
    await second.writes('Does it come in green?');
    shop.fake.failNext(1, 36009002, { httpStatus: 429 });
    const a = await first.agentReplies('Yes, top rack.');
    const sendPath = (buyer: typeof first) => `POST /customer_service/202309/conversations/${buyer.conversationId}/messages`;
    expect(await eventually(() => shop.fake.calls.some((c) => c.request === sendPath(first) && c.code === 36009002))).toBe(true);
    const throttledAt = shop.fake.calls.find((c) => c.request === sendPath(first))!.at;
    // Only the other bridge runs jobs now: it learns of the pause from the store alone.
    await onlyWorker(1);
    const b = await second.agentReplies('Not yet, in spring.', {}, world.bridges[1]);
    expect((await receiptFor(world, b)).status).toBe('Delivered');
    expect((await receiptFor(world, a)).status).toBe('Delivered');
    const sentAt = shop.fake.calls.find((c) => c.request === sendPath(second))!.at;
    expect(sentAt - throttledAt).toBeGreaterThanOrEqual(950);
  });

  // The pause outlasts queue.replyDeadlineMs (5 minutes by default): the agent learns at once that the reply did not go
  // out, rather than the customer getting it hours later (src/jobs/reply-deadline.ts). The pause itself holds.
  it('the daily quota (45101004) pauses the shop on both bridges until 00:00 UTC, logged at error; replies fail at once, and go out again after midnight', async () => {
    allWorkers();
    const first = buyerOf(world, shop);
    const second = buyerOf(world, shop);
    await first.writes('Can I pay in instalments?');
    await second.writes('Do you ship to Ireland?');
    shop.fake.failNext(1, 45101004, { message: 'The daily request quota of this API has been used up. Please try again tomorrow.' });
    const a = await first.agentReplies('Yes, with Klarna.');
    const d = new Date(world.now());
    const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
    const key = `tiktok-shop:${shop.shopId}`;
    expect(await eventually(async () => (await store(1).pausedUntil(key)) >= midnight)).toBe(true);
    expect(await store(0).pausedUntil(key)).toBeLessThan(midnight + 5000);
    expect(log.lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ level: 50, msg: 'tiktok_shop.request_failed', code: 45101004 }));
    expect(await receiptFor(world, a)).toMatchObject({ status: 'Failed', reasons: [{ code: 'RateLimited' }] });

    // The other bridge's reply to another buyer of the shop is not attempted: the pause is in the shared store.
    const calls = shop.fake.calls.length;
    const b = await second.agentReplies('Yes, in 3 days.', {}, world.bridges[1]);
    expect(await receiptFor(world, b)).toMatchObject({ status: 'Failed', reasons: [{ code: 'RateLimited' }] });
    expect(second.sends()).toEqual([]);
    expect(shop.fake.calls.slice(calls).filter((c) => c.request.includes('/messages'))).toEqual([]);

    world.advance(midnight - world.now() + 60_000);
    const again = await second.agentReplies('Yes, in 3 days (sorry for the wait).', {}, world.bridges[1]);
    expect((await receiptFor(world, again, 15_000)).status).toBe('Delivered');
    expect(first.sends()).toHaveLength(0);
    expect(second.sends()).toHaveLength(1);
  });

  it('signal re-authorization when TikTok refuses the refresh: a Failed receipt, the gauge on both bridges, one error line; no call after', async () => {
    await onlyWorker(0);
    const buyer = buyerOf(world, shop);
    await buyer.writes('Hello?');
    shop.fake.expireAccessToken();
    shop.fake.failNext(1, 105003, { on: 'refresh', message: 'The refresh token is invalid or expired.' });
    const refused = await receiptFor(world, await buyer.agentReplies('Hi!'));
    expect(refused).toMatchObject({ status: 'Failed', reasons: [{ code: 'GeneralError', message: expect.stringMatching(/refused to renew it; the seller must authorize the app again.*\(TikTok Shop error 105003, request_id \w+\)$/) }] });
    expect(await metric(world.bridges[0]!, 'dmbridge_reauthorization_required', { connection: shop.connectionId })).toBe(1);
    expect(log.lines.filter((l) => l.includes('tiktok_shop.reauthorization_required'))).toHaveLength(1);
    expect(log.text()).not.toContain(shop.fake.currentTokens().refreshToken);

    await onlyWorker(1);
    const calls = shop.fake.calls.length;
    const again = await receiptFor(world, await buyer.agentReplies('Are you there?', {}, world.bridges[1]));
    expect(again).toMatchObject({ status: 'Failed', reasons: [{ code: 'GeneralError', message: expect.stringMatching(/the seller must authorize the app again/) }] });
    expect(shop.fake.calls.length).toBe(calls);
    expect(await metric(world.bridges[1]!, 'dmbridge_reauthorization_required', { connection: shop.connectionId })).toBe(1);
    expect((await deadLettersOf(world, refused.id)).length).toBe(1);
  });
});
