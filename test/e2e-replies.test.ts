/**
 * Agent replies end to end over real HTTP: the fake Genesys posts signed outbound notifications to the bridge,
 * the bridge sends through the fake Instagram Graph API, and the outcome comes back to the fake Genesys as a
 * receipt. Customer messages are dated in the past where a test needs an old conversation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/index.js';
import type { RunningServer } from '../src/entry/server.js';
import { silentLogger } from '../src/logger.js';
import { deliverOutbound, outboundWebhookBody, startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { graphFailure, startFakeGraph, type FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { TEST, eventually, freePort, postInstagram, rawTestConfig, startTestServer, tempDir } from './helpers.js';

const HOUR = 60 * 60 * 1000;
const TAGGED = { id: 'acme-tagged', accountId: '17841400000000077', integrationId: '0a1b2c3d-2222-4222-8333-944455566677', webhookSecret: 'tagged-webhook-secret-0123456789' };

let genesys: FakeGenesys;
let graph: FakeGraph;
let taggedGraph: FakeGraph;
let bridge: RunningServer;
const dir = tempDir();

beforeAll(async () => {
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId, TAGGED.integrationId] });
  graph = await startFakeGraph({ accessToken: TEST.accessToken, accountId: TEST.accountId, profiles: { [TEST.customer]: { name: 'Jane Doe', username: 'jane.doe' } } });
  taggedGraph = await startFakeGraph({ accessToken: TEST.accessToken, accountId: TAGGED.accountId });
  const port = await freePort();
  const base = rawTestConfig({ genesysUrl: genesys.url, graphUrl: graph.url, store: `sqlite:${dir.path}/replies.db`, port, mediaOrigins: [genesys.storageUrl] });
  // Meta fetches agents' attachments from the bridge's public URL.
  const raw = { ...base, server: { ...base.server, publicUrl: `http://127.0.0.1:${port}` } };
  const main = { ...raw.connections[0]!, forwardAppReplies: true };
  const tagged = {
    ...raw.connections[0]!,
    id: TAGGED.id,
    accountId: TAGGED.accountId,
    graphBaseUrl: taggedGraph.url,
    humanAgentTag: true,
    genesys: { integrationId: TAGGED.integrationId, webhookSecret: TAGGED.webhookSecret },
  };
  bridge = await startTestServer({ config: configSchema.parse({ ...raw, connections: [main, tagged] }), logger: silentLogger });
});
afterAll(async () => {
  await bridge?.close();
  await Promise.all([genesys?.close(), graph?.close(), taggedGraph?.close()]);
  dir.cleanup();
});
beforeEach(() => {
  graph.onMessageSent(undefined);
});

let customerSeq = 0;
/** A fresh customer, so every test has its own conversation and reply window. */
const newCustomer = () => String(8_100_000_000 + ++customerSeq);

async function customerWrites(customer: string, text: string, opts: { at?: number; accountId?: string } = {}): Promise<string> {
  const mid = fakeMid();
  const body = instagramDmWebhook({ mid, timestamp: opts.at ?? Date.now(), text, from: customer }, opts.accountId ?? TEST.accountId);
  expect((await postInstagram(bridge.url, body)).status).toBe(200);
  expect(await eventually(() => genesys.messages.some((m) => (m.body as { channel: { messageId: string } }).channel.messageId === mid))).toBe(true);
  return mid;
}

async function agentReplies(
  customer: string,
  args: Partial<Parameters<typeof outboundWebhookBody>[0]> = {},
  connection: { id: string; integrationId: string; webhookSecret: string } = { id: TEST.connectionId, integrationId: TEST.integrationId, webhookSecret: TEST.webhookSecret },
): Promise<string> {
  const { id, body } = outboundWebhookBody({ integrationId: connection.integrationId, customerId: customer, text: 'Your parcel ships today.', ...args });
  const res = await deliverOutbound(`${bridge.url}/webhooks/genesys/${connection.id}`, body, connection.webhookSecret);
  expect(res.status).toBe(200);
  return id;
}

type Receipt = { id: string; status: string; reasons?: Array<{ code: string; message: string }> };
const receiptFor = (id: string) => genesys.receipts.map((r) => r.body as Receipt).find((r) => r.id === id);
const waitForReceipt = async (id: string, ms = 5000) => {
  expect(await eventually(() => receiptFor(id) !== undefined, ms)).toBe(true);
  return receiptFor(id)!;
};
const sendsTo = (g: FakeGraph, customer: string) =>
  g.sends.filter((s) => (s.body as { recipient: { id: string } }).recipient.id === customer).map((s) => s.body as Record<string, any>);

describe('a full conversation', () => {
  it('customer DM → agent reply → customer reply → agent reply after the window: every outcome reaches the agent', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Hi, where is my order?');
    const first = await agentReplies(customer, { text: 'Your parcel ships today.' });
    expect((await waitForReceipt(first)).status).toBe('Delivered');
    expect(sendsTo(graph, customer)).toEqual([
      { recipient: { id: customer }, messaging_type: 'RESPONSE', message: { text: 'Your parcel ships today.' } },
    ]);

    await customerWrites(customer, 'Thanks!');
    const second = await agentReplies(customer, { text: 'You are welcome.' });
    expect((await waitForReceipt(second)).status).toBe('Delivered');

    // Two days later (the customer's last message dated 2 days ago: a new customer stands in for it).
    const late = newCustomer();
    await customerWrites(late, 'Hello?', { at: Date.now() - 48 * HOUR });
    const third = await agentReplies(late, { text: 'Sorry for the wait!' });
    const receipt = await waitForReceipt(third);
    expect(receipt.status).toBe('Failed');
    expect(receipt.reasons![0]!.code).toBe('MessageExpired');
    expect(receipt.reasons![0]!.message).toMatch(/within 24 hours of the customer's last message.*closed at \d\d:\d\d UTC/s);
    expect(sendsTo(graph, late)).toEqual([]);
  });

  it('shows the customer with their Instagram profile and the reply window as participant data', async () => {
    const mid = fakeMid();
    const now = Date.now();
    await postInstagram(bridge.url, instagramDmWebhook({ mid, timestamp: now, text: 'Hello', from: TEST.customer }, TEST.accountId));
    expect(await eventually(() => genesys.messages.some((m) => (m.body as any).channel.messageId === mid))).toBe(true);
    const body = genesys.messages.find((m) => (m.body as any).channel.messageId === mid)!.body as any;
    expect(body.channel.from).toMatchObject({ id: TEST.customer, nickname: 'jane.doe', firstName: 'Jane', lastName: 'Doe' });
    const attributes = body.channel.metadata.customAttributes;
    expect(Date.parse(attributes['dmbridge.replyWindowEndsAt'])).toBeGreaterThanOrEqual(now + 24 * HOUR - 1000);
    expect(Number(attributes['dmbridge.replyWindowMinutesLeft'])).toBeGreaterThan(1430);
  });
});

describe('the reply window', () => {
  const tagged = { id: TAGGED.id, integrationId: TAGGED.integrationId, webhookSecret: TAGGED.webhookSecret };

  it('sends a human agent reply at 3 days with the HUMAN_AGENT tag when the connection enables it', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Any news?', { at: Date.now() - 72 * HOUR, accountId: TAGGED.accountId });
    const id = await agentReplies(customer, { text: 'Yes: it shipped.', originatingEntity: 'Human' }, tagged);
    expect((await waitForReceipt(id)).status).toBe('Delivered');
    expect(sendsTo(taggedGraph, customer)).toEqual([
      { recipient: { id: customer }, messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT', message: { text: 'Yes: it shipped.' } },
    ]);
  });

  it('never tags a bot reply, even on a connection that enables the tag', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Any news?', { at: Date.now() - 72 * HOUR, accountId: TAGGED.accountId });
    const id = await agentReplies(customer, { text: 'Automated update', originatingEntity: 'Bot' }, tagged);
    const receipt = await waitForReceipt(id);
    expect(receipt.status).toBe('Failed');
    expect(receipt.reasons![0]!.code).toBe('MessageExpired');
    expect(sendsTo(taggedGraph, customer)).toEqual([]);
  });

  it('does not use the tag at 3 days on a connection that does not enable it', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Any news?', { at: Date.now() - 72 * HOUR });
    const id = await agentReplies(customer, { text: 'Yes: it shipped.', originatingEntity: 'Human' });
    expect((await waitForReceipt(id)).reasons![0]!.code).toBe('MessageExpired');
    expect(sendsTo(graph, customer)).toEqual([]);
  });
});

describe('what an agent can send', () => {
  it('splits a long reply into parts of at most 1000 bytes, in order, and reports one Delivered receipt', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Tell me everything');
    const text = Array.from({ length: 60 }, (_, i) => `Sentence ${i} about your order 📦 and its journey.`).join(' ');
    const id = await agentReplies(customer, { text });
    expect((await waitForReceipt(id)).status).toBe('Delivered');
    const parts = sendsTo(graph, customer).map((b) => b.message.text as string);
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(1000);
    expect(parts.join('')).toBe(text);
    expect(genesys.receipts.filter((r) => (r.body as Receipt).id === id)).toHaveLength(1);
  });

  it("sends an image attachment by a bridge /media link that streams the agent's file from Genesys", async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Send me the label');
    const label = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 7, 7, 7]);
    const url = genesys.hostAttachment({ bytes: label, mime: 'image/png', filename: 'label.png' });
    const id = await agentReplies(customer, { text: undefined, attachments: [{ mediaType: 'Image', url, mime: 'image/png', filename: 'label.png' }] });
    expect((await waitForReceipt(id)).status).toBe('Delivered');
    const [sent] = sendsTo(graph, customer);
    expect(sent).toEqual({ recipient: { id: customer }, messaging_type: 'RESPONSE', message: { attachment: { type: 'image', payload: { url: expect.any(String) } } } });
    // Meta fetches the link as it is (no token): the bridge fetches Genesys's file with its own.
    const link = sent!.message.attachment.payload.url as string;
    expect(link.startsWith(`${bridge.url}/media/`)).toBe(true);
    const fetched = await fetch(link);
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(label);
  });

  it('sends a notification template as its header, body and footer, in that order', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Where is my order?');
    const template = {
      header: { type: 'Text', text: 'Hello' },
      body: { text: 'Hi {{1}}, your order ships today.', parameters: [{ text: 'Jane' }] },
      footer: { text: 'Goodbye' },
    };
    // Genesys may put the rendered body in `text` too (genesys-open-messaging.md §3.4).
    const id = await agentReplies(customer, { type: 'Structured', text: 'Hi Jane, your order ships today.', content: [{ contentType: 'Notification', template }] });
    expect((await waitForReceipt(id)).status).toBe('Delivered');
    expect(sendsTo(graph, customer).map((b) => b.message.text)).toEqual(['Hello\nHi Jane, your order ships today.\nGoodbye']);
  });

  it('forwards the agent typing as typing_on, without a receipt', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Hello?');
    const id = await agentReplies(customer, { type: 'Event', text: undefined });
    expect(await eventually(() => sendsTo(graph, customer).length === 1)).toBe(true);
    expect(sendsTo(graph, customer)[0]).toEqual({ recipient: { id: customer }, sender_action: 'typing_on' });
    await new Promise((r) => setTimeout(r, 200));
    expect(receiptFor(id)).toBeUndefined();
  });

  it('answers a message type it cannot send with a Failed UnsupportedMessage receipt', async () => {
    const customer = newCustomer();
    const id = await agentReplies(customer, { type: 'Structured', text: undefined, content: [{ contentType: 'Hologram', hologram: {} }] });
    const receipt = await waitForReceipt(id);
    expect(receipt.status).toBe('Failed');
    expect(receipt.reasons![0]!.code).toBe('UnsupportedMessage');
  });
});

describe('when Instagram refuses', () => {
  it('retries Graph 5xx and then delivers once', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Hi');
    graph.failNext(2, graphFailure(2, undefined, { status: 500, message: 'Service temporarily unavailable', isTransient: true }));
    const id = await agentReplies(customer, { text: 'Eventually delivered' });
    expect((await waitForReceipt(id, 8000)).status).toBe('Delivered');
    expect(sendsTo(graph, customer)).toHaveLength(1);
  });

  it('fails with an actionable reason when the access token is rejected (190)', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Hi');
    graph.failNext(1, graphFailure(190, 463, { message: 'Error validating access token: Session has expired' }));
    const id = await agentReplies(customer, { text: 'Will not arrive' });
    const receipt = await waitForReceipt(id);
    expect(receipt.status).toBe('Failed');
    expect(receipt.reasons![0]!.code).toBe('GeneralError');
    expect(receipt.reasons![0]!.message).toMatch(/access token/);
    expect(receipt.reasons![0]!.message).toMatch(/190/);
  });

});

describe('echoes, reactions and reads', () => {
  const echoWebhook = (customer: string, mid: string, text: string) => ({
    object: 'instagram',
    entry: [{ id: TEST.accountId, time: Date.now(), messaging: [{ sender: { id: TEST.accountId }, recipient: { id: customer }, timestamp: Date.now(), message: { mid, text, is_echo: true } }] }],
  });
  const customerEvent = (customer: string, event: Record<string, unknown>) => ({
    object: 'instagram',
    entry: [{ id: TEST.accountId, time: Date.now(), messaging: [{ sender: { id: customer }, recipient: { id: TEST.accountId }, timestamp: Date.now(), ...event }] }],
  });
  const genesysTexts = (customer: string) =>
    genesys.messages.map((m) => m.body as { text?: string; channel: { from: { id: string } } }).filter((b) => b.channel.from.id === customer).map((b) => b.text);

  it('drops the echo of our own send even when it arrives before the send call returns: no loop, no duplicate', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Hi');
    graph.onMessageSent(async ({ messageId, body }) => {
      const text = (body as { message: { text: string } }).message.text;
      expect((await postInstagram(bridge.url, echoWebhook(customer, messageId, text))).status).toBe(200);
    });
    const id = await agentReplies(customer, { text: 'Echoed before the answer' });
    expect((await waitForReceipt(id)).status).toBe('Delivered');
    await new Promise((r) => setTimeout(r, 300));
    expect(genesysTexts(customer)).toEqual(['Hi']);
    expect(sendsTo(graph, customer)).toHaveLength(1);
  });

  it("shows the agent a message the brand sent from the Instagram app, as a note", async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Hi');
    expect((await postInstagram(bridge.url, echoWebhook(customer, fakeMid(), 'Replying from my phone'))).status).toBe(200);
    expect(await eventually(() => genesysTexts(customer).length === 2)).toBe(true);
    expect(genesysTexts(customer)[1]).toBe('[Not from the customer] The brand replied from the Instagram app: Replying from my phone');
  });

  it("names the agent's message a customer reacted to", async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Hi');
    const id = await agentReplies(customer, { text: 'Your parcel ships today.' });
    await waitForReceipt(id);
    const mid = graph.sends.find((s) => (s.body as any).recipient.id === customer)!.messageId!;
    await postInstagram(bridge.url, customerEvent(customer, { reaction: { mid, action: 'react', reaction: 'love', emoji: '❤️' } }));
    expect(await eventually(() => genesysTexts(customer).length === 2)).toBe(true);
    expect(genesysTexts(customer)[1]).toBe('reacted ❤️ to your message “Your parcel ships today.”');
  });

  it('records that the customer read the agent message', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Hi');
    const id = await agentReplies(customer, { text: 'Read me' });
    await waitForReceipt(id);
    const mid = graph.sends.find((s) => (s.body as any).recipient.id === customer)!.messageId!;
    await postInstagram(bridge.url, customerEvent(customer, { read: { mid } }));
    expect(
      await eventually(async () => {
        const link = await bridge.bridge.store.getRecord<{ readAt?: number }>('platform-message', `${TEST.connectionId}:${mid}`);
        return link?.readAt !== undefined;
      }),
    ).toBe(true);
  });
});

describe('the Genesys webhook route', () => {
  it('answers 404 for an unknown connection and 401 for a bad signature, storing nothing', async () => {
    const { body } = outboundWebhookBody({ integrationId: TEST.integrationId, customerId: newCustomer(), text: 'x' });
    expect((await deliverOutbound(`${bridge.url}/webhooks/genesys/nope`, body, TEST.webhookSecret)).status).toBe(404);
    expect((await deliverOutbound(`${bridge.url}/webhooks/genesys/${TEST.connectionId}`, body, 'wrong-secret-0123456789')).status).toBe(401);
  });

  it('accepts a hex-encoded signature as well as base64', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Hi');
    const { id, body } = outboundWebhookBody({ integrationId: TEST.integrationId, customerId: customer, text: 'hex signed' });
    const res = await deliverOutbound(`${bridge.url}/webhooks/genesys/${TEST.connectionId}`, body, TEST.webhookSecret, { encoding: 'hex' });
    expect(res.status).toBe(200);
    expect((await waitForReceipt(id)).status).toBe('Delivered');
  });

  it('sends a reply delivered twice by Genesys only once', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Hi');
    const { id, body } = outboundWebhookBody({ integrationId: TEST.integrationId, customerId: customer, text: 'Only once' });
    const url = `${bridge.url}/webhooks/genesys/${TEST.connectionId}`;
    await Promise.all([deliverOutbound(url, body, TEST.webhookSecret), deliverOutbound(url, body, TEST.webhookSecret)]);
    await waitForReceipt(id);
    await new Promise((r) => setTimeout(r, 200));
    expect(sendsTo(graph, customer)).toHaveLength(1);
  });
});

// Last in the file: the account stays paused for the rest of the run (Graph asks for a minute).
describe('rate limits', () => {
  it('pauses only the rate-limited account: the other account keeps sending', async () => {
    const customer = newCustomer();
    await customerWrites(customer, 'Hi');
    const other = newCustomer();
    await customerWrites(other, 'Hi', { accountId: TAGGED.accountId });
    graph.failNext(1, graphFailure(4, undefined, { message: 'Application request limit reached' }));
    await agentReplies(customer, { text: 'Throttled' });
    expect(await eventually(async () => (await bridge.bridge.store.pausedUntil(`instagram:${TEST.accountId}`)) > Date.now())).toBe(true);
    const id = await agentReplies(other, { text: 'Not throttled' }, { id: TAGGED.id, integrationId: TAGGED.integrationId, webhookSecret: TAGGED.webhookSecret });
    expect((await waitForReceipt(id)).status).toBe('Delivered');
    expect(await bridge.bridge.store.pausedUntil(`instagram:${TAGGED.accountId}`)).toBe(0);
  });
});
