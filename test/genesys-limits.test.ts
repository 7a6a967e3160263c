/**
 * Genesys refusing an inbound message (400) for its size must not cost the agent the message: it is sent once more
 * with the text cut (and a note saying so) or the custom attributes trimmed, the bridge's routing attributes kept.
 * The fake Genesys here refuses past a size, as a Genesys with limits would (Genesys publishes none).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitInboundMessage } from '../src/genesys/fit.js';
import { buildGenesysInboundMessage } from '../src/genesys/translate.js';
import { fakeMid } from '../src/channels/instagram/sandbox/customer.js';
import { TEST, eventually, postInstagram } from './helpers.js';
import { startTikTokBridge, type GenesysBody, type TikTokBridge } from './tiktok-bridge.js';

let t: TikTokBridge;
beforeAll(async () => {
  t = await startTikTokBridge({ genesysLimits: { textChars: 4000, customAttributesBytes: 1900 } });
});
afterAll(() => t?.close());

const refusals = () => t.genesys.inboundRequests.filter((r) => r.endpoint === 'message' && r.status === 400).length;

describe('a message too large for Genesys', () => {
  it('arrives with its text cut to inboundTextMaxChars and a note, after one refusal', async () => {
    const c = t.newConversation();
    const long = `${'Where is my order? '.repeat(300)}END`;
    const before = refusals();
    const content = t.dmContent(c, { text: { body: long } });
    expect((await t.deliver('im_receive_msg', content)).status).toBe(200);
    expect(await eventually(() => t.genesysFor(c.customer).length === 1)).toBe(true);
    const [m] = t.genesysFor(c.customer);
    expect(m!.text!.length).toBeLessThanOrEqual(4000);
    expect(m!.text).toMatch(/^Where is my order\? /);
    expect(m!.text).toMatch(/\[✂️ Shortened by dmbridge: the customer's message had 5703 characters, more than Genesys accepts/);
    expect(refusals()).toBe(before + 1);
  });

  it('arrives with its attributes trimmed, the routing ones kept', async () => {
    const customer = '8900000000000001';
    const mid = fakeMid();
    const referral = { ref: 'r'.repeat(900), source: 'ADS', type: 'OPEN_THREAD', ad_id: '1234', ads_context_data: { ad_title: 't'.repeat(1200) } };
    const body = {
      object: 'instagram',
      entry: [{ id: TEST.accountId, time: Date.now(), messaging: [{ sender: { id: customer }, recipient: { id: TEST.accountId }, timestamp: Date.now(), message: { mid, text: 'From the ad', referral } }] }],
    };
    expect((await postInstagram(t.bridge.url, body)).status).toBe(200);
    const found = () => t.genesys.messages.map((g) => g.body as GenesysBody).find((b) => b.channel.messageId === mid);
    expect(await eventually(() => found() !== undefined)).toBe(true);
    const attributes = found()!.channel.metadata.customAttributes;
    expect(Buffer.byteLength(JSON.stringify(attributes))).toBeLessThanOrEqual(1900);
    expect(attributes).toMatchObject({ 'dmbridge.channel': 'instagram', 'dmbridge.source': 'Instagram DM', 'dmbridge.referral.source': 'ADS' });
    expect(Number(attributes['dmbridge.attributesTrimmed'])).toBeGreaterThan(0);
    expect(found()!.text).toBe('From the ad');
  });

  it('is still dead-lettered when the refusal was not about size', async () => {
    t.genesys.failNext(1, { status: 400, body: { message: 'should have required property content', code: 'bad.request', status: 400, contextId: 'ctx-1', details: [], errors: [] } });
    const c = t.newConversation();
    const content = t.dmContent(c, { text: { body: 'short' } });
    expect((await t.deliver('im_receive_msg', content)).status).toBe(200);
    const dead = async () => (await t.bridge.bridge.store.listDead(20)).find((j) => JSON.stringify(j.payload).includes(content.message_id));
    expect(await eventually(async () => (await dead()) !== undefined)).toBe(true);
  });
});

describe('fitInboundMessage', () => {
  const event = {
    channel: 'x', kind: 'message', accountId: 'a', customerId: 'c', dedupeKey: 'd', timestamp: Date.UTC(2026, 11, 1), subtype: 'text',
    messageId: 'm', attributes: {} as Record<string, string>, opensWindow: true,
  } as const;
  const limits = { inboundTextMaxChars: 100, customAttributesMaxBytes: 400 };

  it('changes nothing that is within the limits', () => {
    expect(fitInboundMessage(buildGenesysInboundMessage({ ...event, text: 'hi' }, { connectionId: 'k', source: 'X DM' }), limits)).toBeUndefined();
  });

  it('never cuts inside an emoji', () => {
    const fitted = fitInboundMessage(buildGenesysInboundMessage({ ...event, text: '👩‍👩‍👧‍👦'.repeat(40) }, { connectionId: 'k', source: 'X DM' }), { ...limits, inboundTextMaxChars: 200 })!;
    const head = fitted.text!.split('\n\n[✂️')[0]!;
    expect(head.length % '👩‍👩‍👧‍👦'.length).toBe(0);
    expect(fitted.text!.length).toBeLessThanOrEqual(200);
  });
});
