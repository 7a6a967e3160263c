/**
 * A signed event whose timestamp is absurd (8.64e15, year 1970) must not poison its conversation: it is delivered
 * with the arrival time, counted and logged, and the customer's reply window is the ordinary one.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { EVENT_TIME_MAX_AGE_MS, EVENT_TIME_MAX_AHEAD_MS, saneEventTime, withoutFutureWindow } from '../src/core/event-time.js';
import { deliverOutbound, outboundWebhookBody } from '../src/sandbox/fake-genesys/index.js';
import { TEST, capturedLogger, eventually, postInstagram } from './helpers.js';
import { startTikTokBridge, type GenesysBody, type TikTokBridge } from './tiktok-bridge.js';

const HOUR = 3600_000;
const log = capturedLogger('warn');
let t: TikTokBridge;
beforeAll(async () => {
  t = await startTikTokBridge({ logger: log.logger });
});
afterAll(() => t?.close());

const clamped = async (channel: string) => (await t.bridge.bridge.metrics.eventTimesClamped.get()).values.find((v) => v.labels.channel === channel)?.value ?? 0;
const instagramFor = (customer: string) => t.genesys.messages.map((m) => m.body as GenesysBody).filter((b) => b.channel.from.id === customer);

describe('implausible event times', () => {
  it('delivers an Instagram DM dated 8.64e15 with its arrival time, and the next DM and the reply window stay ordinary', async () => {
    const customer = '8200000000000001';
    const before = await clamped('instagram');
    const sentAt = Date.now();
    const far = instagramDmWebhook({ mid: fakeMid(), timestamp: 8.64e15, text: 'From the far future', from: customer }, TEST.accountId);
    expect((await postInstagram(t.bridge.url, far)).status).toBe(200);
    expect(await eventually(() => instagramFor(customer).length === 1)).toBe(true);
    const [first] = instagramFor(customer);
    expect(Math.abs(Date.parse(first!.channel.time) - sentAt)).toBeLessThan(60_000);
    expect(await clamped('instagram')).toBe(before + 1);
    expect(log.text()).toContain('event time outside the sane range; the arrival time is used');

    const next = instagramDmWebhook({ mid: fakeMid(), timestamp: Date.now(), text: 'And now', from: customer }, TEST.accountId);
    expect((await postInstagram(t.bridge.url, next)).status).toBe(200);
    expect(await eventually(() => instagramFor(customer).length === 2)).toBe(true);
    const endsAt = Date.parse(instagramFor(customer)[1]!.channel.metadata.customAttributes['dmbridge.replyWindowEndsAt']!);
    expect(endsAt).toBeLessThan(Date.now() + 24 * HOUR + 60_000);
    expect(await t.bridge.bridge.store.listDead(10)).toEqual([]);
  });

  it("uses a TikTok message dated 1970 as arriving now: the agent's reply is within the 48-hour window", async () => {
    const c = t.newConversation();
    const before = await clamped('tiktok');
    await t.customerWrites(c, { timestamp: 1 });
    expect(await clamped('tiktok')).toBe(before + 1);
    const receipt = await t.receiptFor(await t.agentReplies(c.customer, { text: 'Hello!' }));
    expect(receipt.status).toBe('Delivered');
  });

  it('refuses nothing for a time within the sane range: a message retried 71 hours later keeps its own time', async () => {
    const c = t.newConversation();
    const at = Date.now() - 71 * HOUR;
    const content = t.dmContent(c, { timestamp: at });
    expect((await t.deliver('im_receive_msg', content)).status).toBe(200);
    expect(await eventually(() => t.genesysFor(c.customer).length === 1)).toBe(true);
    expect(Date.parse(t.genesysFor(c.customer)[0]!.channel.time)).toBe(at);
  });

  it('treats a conversation state dated in the future as unknown: the reply is refused, not allowed for centuries, and logged', async () => {
    // Written before event times were checked: the stored state itself is poisoned.
    const customer = '8200000000000002';
    await t.bridge.bridge.store.recordCustomerMessage(`${TEST.connectionId}:${customer}`, 8e15);
    const { id, body } = outboundWebhookBody({ integrationId: TEST.integrationId, customerId: customer, text: 'Hello' });
    expect((await deliverOutbound(`${t.bridge.url}/webhooks/genesys/${TEST.connectionId}`, body, TEST.webhookSecret)).status).toBe(200);
    expect(await eventually(() => t.genesys.receipts.some((r) => (r.body as { id: string }).id === id))).toBe(true);
    const receipt = t.genesys.receipts.find((r) => (r.body as { id: string }).id === id)!.body as { status: string; reasons?: Array<{ code: string }> };
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'MessageExpired' }] });
    expect(log.text()).toContain('dated in the future');
  });
});

describe('saneEventTime', () => {
  it('returns a finite time within the range around the arrival, the input itself when it was already in range', () => {
    const now = Date.UTC(2026, 11, 1);
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer(), fc.integer({ min: now - 40 * 24 * HOUR, max: now + HOUR })), (ts) => {
        const { timestamp, clamped: wasClamped } = saneEventTime(ts, now);
        expect(Number.isFinite(timestamp)).toBe(true);
        expect(timestamp).toBeGreaterThanOrEqual(now - EVENT_TIME_MAX_AGE_MS);
        expect(timestamp).toBeLessThanOrEqual(now + EVENT_TIME_MAX_AHEAD_MS);
        expect(timestamp).toBe(wasClamped ? now : ts);
      }),
    );
  });

  it('keeps a window time that is not in the future, drops one that is', () => {
    expect(withoutFutureWindow({ lastInboundAt: 5, customerMessages: 2 }, 10)).toEqual({ conversation: { lastInboundAt: 5, customerMessages: 2 }, dropped: false });
    expect(withoutFutureWindow({ lastInboundAt: 8e15, customerMessages: 2 }, 10)).toEqual({ conversation: { customerMessages: 2 }, dropped: true });
  });
});
