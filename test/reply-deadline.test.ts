/**
 * An agent waiting on a reply learns its fate within `queue.replyDeadlineMs`, on every channel: a platform that keeps
 * failing (an unknown TikTok code, retried as transient), or a rate limit that lasts past the deadline, ends in a
 * Failed receipt instead of hours of retries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { graphFailure, startFakeGraph, type FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import { parseConfig } from '../src/config/index.js';
import { deliverOutbound, outboundWebhookBody } from '../src/sandbox/fake-genesys/index.js';
import { TEST, eventually, postInstagram, rawTestConfig } from './helpers.js';
import { startTikTokBridge, type Receipt, type TikTokBridge } from './tiktok-bridge.js';

const DEADLINE_MS = 1500;
let t: TikTokBridge;
let graph: FakeGraph;
beforeAll(async () => {
  graph = await startFakeGraph({ accessToken: TEST.accessToken, accountId: TEST.accountId });
  // Without the deadline, 100 attempts would take minutes: the deadline, not the attempts, ends these replies.
  t = await startTikTokBridge({ queue: { replyDeadlineMs: DEADLINE_MS, maxAttempts: 100, backoffBaseMs: 50, backoffMaxMs: 300 }, instagram: { graphBaseUrl: graph.url } });
});
afterAll(async () => {
  await t?.close();
  await graph?.close();
});

async function instagramReply(customer: string, text: string): Promise<Receipt> {
  const mid = fakeMid();
  expect((await postInstagram(t.bridge.url, instagramDmWebhook({ mid, timestamp: Date.now(), text: 'Hi', from: customer }, TEST.accountId))).status).toBe(200);
  expect(await eventually(() => t.genesys.messages.some((m) => (m.body as { channel: { messageId: string } }).channel.messageId === mid))).toBe(true);
  const { id, body } = outboundWebhookBody({ integrationId: TEST.integrationId, customerId: customer, text });
  expect((await deliverOutbound(`${t.bridge.url}/webhooks/genesys/${TEST.connectionId}`, body, TEST.webhookSecret)).status).toBe(200);
  return t.receiptFor(id, 8000);
}

describe('the reply deadline', () => {
  it('gives up a TikTok reply that keeps failing with an unknown code, within the deadline plus one retry', async () => {
    const c = t.newConversation();
    await t.customerWrites(c);
    t.tiktok.failNext(1000, 49999, 'Something TikTok has never documented');
    const started = Date.now();
    try {
      const receipt = await t.receiptFor(await t.agentReplies(c.customer, { text: 'Will not arrive' }), 8000);
      expect(Date.now() - started).toBeLessThan(DEADLINE_MS + 2500);
      expect(receipt.status).toBe('Failed');
      expect(receipt.reasons![0]!.code).toBe('GeneralError');
      expect(receipt.reasons![0]!.message).toContain('Something TikTok has never documented');
      expect(receipt.reasons![0]!.message).toContain('not delivered within 2 seconds');
    } finally {
      t.tiktok.clearFailures();
    }
  });

  it('delivers a TikTok reply that fails transiently and then succeeds within the deadline', async () => {
    const c = t.newConversation();
    await t.customerWrites(c);
    t.tiktok.failNext(1, 51065, 'System error');
    expect((await t.receiptFor(await t.agentReplies(c.customer, { text: 'Arrives' }))).status).toBe('Delivered');
  });

  it('fails at once, as RateLimited, an Instagram reply whose rate limit lasts past the deadline, and keeps the pause for the account', async () => {
    graph.failNext(1, graphFailure(4, undefined, { status: 429, headers: { 'retry-after': '3600' } }));
    const started = Date.now();
    const receipt = await instagramReply('8300000000000001', 'Throttled');
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS + 2000);
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'RateLimited' }] });
    expect(await t.bridge.bridge.store.pausedUntil(`instagram:${TEST.accountId}`)).toBeGreaterThan(Date.now() + 3000_000);

    // Another customer of the paused account: refused without calling Instagram, saying why.
    const sends = graph.sends.length;
    const next = await instagramReply('8300000000000002', 'Also throttled');
    expect(next).toMatchObject({ status: 'Failed', reasons: [{ code: 'RateLimited' }] });
    expect(next.reasons![0]!.message).toMatch(/^Instagram is limiting how many messages this account may send/);
    expect(graph.sends.length).toBe(sends);
  });

  it('defaults to 5 minutes', () => {
    const config = parseConfig(JSON.stringify(rawTestConfig({ genesysUrl: 'http://127.0.0.1:1', store: 'sqlite::memory:', queue: {} })), {});
    expect(config.queue.replyDeadlineMs).toBe(300_000);
  });
});
