/**
 * A customer's tap on a quick reply or card button that a Genesys bot offered reaches Genesys as a structured
 * response (`…/inbound/open/structured/response`, `buttonResponse`, `originatingMessageId`), so the bot flow receives
 * the button, not text; the fake Genesys validates that body strictly, as it does the others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { startFakeGraph, type FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import { deliverOutbound, outboundWebhookBody } from '../src/sandbox/fake-genesys/index.js';
import { TEST, eventually, postInstagram } from './helpers.js';
import { startTikTokBridge, TT, type GenesysBody, type TikTokBridge } from './tiktok-bridge.js';

let graph: FakeGraph;
let t: TikTokBridge;
beforeAll(async () => {
  graph = await startFakeGraph({ accessToken: TEST.accessToken, accountId: TEST.accountId });
  t = await startTikTokBridge({ instagram: { graphBaseUrl: graph.url } });
});
afterAll(async () => {
  await t?.close();
  await graph?.close();
});

const QUICK_REPLIES = [
  { contentType: 'QuickReply', quickReply: { text: 'Yes', payload: 'YES', action: 'Message' } },
  { contentType: 'QuickReply', quickReply: { text: 'No', payload: 'NO', action: 'Message' } },
];
const CARD = [{ contentType: 'Card', card: { title: 'Blue mug', description: '12 EUR', actions: [{ type: 'Postback', text: 'Buy', payload: 'BUY_1' }] } }];

const responsesFor = (customer: string) => t.genesys.structuredResponses.map((r) => r.body as GenesysBody).filter((b) => b.channel.from.id === customer);
const messagesFor = (customer: string) => t.genesys.messages.map((m) => m.body as GenesysBody).filter((b) => b.channel.from.id === customer);
const instagramItem = (customer: string, event: Record<string, unknown>) => ({
  object: 'instagram',
  entry: [{ id: TEST.accountId, time: Date.now(), messaging: [{ sender: { id: customer }, recipient: { id: TEST.accountId }, timestamp: Date.now(), ...event }] }],
});

async function instagramCustomerWrites(customer: string): Promise<void> {
  const mid = fakeMid();
  expect((await postInstagram(t.bridge.url, instagramDmWebhook({ mid, timestamp: Date.now(), text: 'Hi', from: customer }, TEST.accountId))).status).toBe(200);
  expect(await eventually(() => messagesFor(customer).length === 1)).toBe(true);
}

async function botOffers(customer: string, integrationId: string, connectionId: string, content: unknown[], text: string): Promise<string> {
  const secret = connectionId === TT.connectionId ? TT.webhookSecret : TEST.webhookSecret;
  const { id, body } = outboundWebhookBody({ integrationId, customerId: customer, type: 'Structured', text, content, originatingEntity: 'Bot' });
  expect((await deliverOutbound(`${t.bridge.url}/webhooks/genesys/${connectionId}`, body, secret)).status).toBe(200);
  expect((await t.receiptFor(id)).status).toBe('Delivered');
  return id;
}

describe('a tap on what a Genesys bot offered', () => {
  it('Instagram quick reply → a QuickReply structured response naming the offering message', async () => {
    const customer = '8800000000000001';
    await instagramCustomerWrites(customer);
    const offer = await botOffers(customer, TEST.integrationId, TEST.connectionId, QUICK_REPLIES, 'Track another order?');
    expect((await postInstagram(t.bridge.url, instagramItem(customer, { message: { mid: fakeMid(), text: 'Yes', quick_reply: { payload: 'YES' } } }))).status).toBe(200);
    expect(await eventually(() => responsesFor(customer).length === 1)).toBe(true);
    const [response] = responsesFor(customer);
    expect(response!.buttonResponse).toEqual({ type: 'QuickReply', text: 'Yes', payload: 'YES' });
    expect(response!.originatingMessageId).toBe(offer);
    expect(response!.channel.metadata.customAttributes['dmbridge.source']).toBe('Instagram DM');
    expect(messagesFor(customer)).toHaveLength(1);
  });

  it('Instagram card button (postback) → a Button structured response', async () => {
    const customer = '8800000000000002';
    await instagramCustomerWrites(customer);
    const offer = await botOffers(customer, TEST.integrationId, TEST.connectionId, CARD, 'Our pick');
    expect((await postInstagram(t.bridge.url, instagramItem(customer, { postback: { mid: fakeMid(), title: 'Buy', payload: 'BUY_1' } }))).status).toBe(200);
    expect(await eventually(() => responsesFor(customer).length === 1)).toBe(true);
    expect(responsesFor(customer)[0]).toMatchObject({ buttonResponse: { type: 'Button', text: 'Buy', payload: 'BUY_1' }, originatingMessageId: offer });
  });

  it('TikTok Q&A card tap → a QuickReply structured response, the card found from the message TikTok names', async () => {
    const c = t.newConversation();
    await t.customerWrites(c);
    const offer = await botOffers(c.customer, TT.integrationId, TT.connectionId, QUICK_REPLIES, 'Track another order?');
    const card = t.tiktok.sends.find((s) => (s.body as { recipient?: string; message_type?: string }).recipient === c.conversationId && (s.body as { message_type?: string }).message_type === 'TEMPLATE')!;
    const tap = { text: { body: 'No' }, reply_source_payload: { reply_source_msg_id: card.messageId, reply_source_unique_id: 'NO' } };
    expect((await t.deliver('im_receive_msg', t.dmContent(c, tap))).status).toBe(200);
    expect(await eventually(() => responsesFor(c.customer).length === 1)).toBe(true);
    expect(responsesFor(c.customer)[0]).toMatchObject({ buttonResponse: { type: 'QuickReply', text: 'No', payload: 'NO' }, originatingMessageId: offer });
  });

  it('a quick reply no Genesys message offered stays an ordinary message with its payload attribute', async () => {
    const customer = '8800000000000003';
    await instagramCustomerWrites(customer);
    expect((await postInstagram(t.bridge.url, instagramItem(customer, { message: { mid: fakeMid(), text: 'Opening hours', quick_reply: { payload: 'ICE_BREAKER_HOURS' } } }))).status).toBe(200);
    expect(await eventually(() => messagesFor(customer).length === 2)).toBe(true);
    expect(messagesFor(customer)[1]!.channel.metadata.customAttributes['dmbridge.quickReplyPayload']).toBe('ICE_BREAKER_HOURS');
    expect(responsesFor(customer)).toEqual([]);
  });
});

describe('the fake Genesys structured-response endpoint', () => {
  async function post(body: unknown): Promise<Response> {
    const tokenRes = await fetch(`${t.genesys.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${TEST.genesysClientId}:${TEST.genesysClientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const { access_token } = (await tokenRes.json()) as { access_token: string };
    return fetch(`${t.genesys.url}/api/v2/conversations/messages/${TEST.integrationId}/inbound/open/structured/response`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }
  const valid = () => ({
    channel: { messageId: 'm1', from: { id: '1', idType: 'Opaque' }, time: new Date().toISOString() },
    buttonResponse: { type: 'QuickReply', text: 'Yes', payload: 'YES' },
    originatingMessageId: 'c0ffee00c0ffee00c0ffee00c0ffee00',
  });

  it('accepts the model and answers an OpenStructuredResponseNormalizedMessage', async () => {
    const res = await post(valid());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ type: 'Structured', content: [{ contentType: 'ButtonResponse', buttonResponse: { payload: 'YES' } }] });
  });

  it.each([
    ['without originatingMessageId', (b: Record<string, any>) => delete b.originatingMessageId],
    ['with an unknown button type', (b: Record<string, any>) => (b.buttonResponse.type = 'Tap')],
    ['with text beside the button', (b: Record<string, any>) => (b.text = 'Yes')],
  ])('refuses a body %s with 400', async (_name, mutate) => {
    const body = valid();
    mutate(body);
    expect((await post(body)).status).toBe(400);
  });
});
