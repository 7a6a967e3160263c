/**
 * Agents' attachments end to end over real HTTP, against a fake Genesys that hands them as the real one does: a link
 * to its OAuth-protected downloads endpoint, answered with a redirect to a signed URL on a second origin that refuses
 * any request carrying an Authorization header (genesys-open-messaging.md key fact 23). Meta fetches by URL and gets
 * a bridge /media link; TikTok gets the bytes uploaded. What may not be fetched is refused before anything is asked.
 */
import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { startFakeGraph, type FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import { listenOnLoopback } from '../src/net/loopback.js';
import { deliverOutbound, outboundWebhookBody } from '../src/sandbox/fake-genesys/index.js';
import { TEST, eventually, postInstagram, testResolver } from './helpers.js';
import { startTikTokBridge, type Receipt, type TikTokBridge } from './tiktok-bridge.js';

/** A host the operator allowed, whose name resolves to a private address (a DNS answer the bridge must not trust). */
const PRIVATE_HOST = 'files.internal.test';
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82, 9, 8, 7, 6]);
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...Array.from({ length: 600 }, (_, i) => (i * 7) % 251), 0xff, 0xd9]);

let graph: FakeGraph;
let t: TikTokBridge;
/** A server on this machine that is not Genesys: nothing may ever reach it. */
let elsewhere: { origin: string; requests: string[]; close(): Promise<void> };

beforeAll(async () => {
  graph = await startFakeGraph({ accessToken: TEST.accessToken, accountId: TEST.accountId });
  const requests: string[] = [];
  const web = new Hono();
  web.all('*', (c) => {
    requests.push(c.req.path);
    return new Response(PNG, { headers: { 'content-type': 'image/png' } });
  });
  const listening = await listenOnLoopback(web);
  elsewhere = { origin: listening.origin, requests, close: () => new Promise((resolve) => listening.server.close(() => resolve())) };
  t = await startTikTokBridge({
    instagram: { graphBaseUrl: graph.url },
    mediaOrigins: [PRIVATE_HOST],
    resolveHost: testResolver({ [PRIVATE_HOST]: ['10.0.0.7'] }),
  });
});
afterAll(async () => {
  await t?.close();
  await Promise.all([graph?.close(), elsewhere?.close()]);
});

let customers = 0;
/** An Instagram customer who has just written (the reply window is open). */
async function instagramCustomer(): Promise<string> {
  const customer = String(8_300_000_000 + ++customers);
  const mid = fakeMid();
  expect((await postInstagram(t.bridge.url, instagramDmWebhook({ mid, timestamp: Date.now(), text: 'Can you send the label?', from: customer }, TEST.accountId))).status).toBe(200);
  expect(await eventually(() => t.genesys.messages.some((m) => (m.body as { channel: { messageId: string } }).channel.messageId === mid))).toBe(true);
  return customer;
}

async function instagramAgentSends(customer: string, url: string): Promise<Receipt> {
  const { id, body } = outboundWebhookBody({ integrationId: TEST.integrationId, customerId: customer, attachments: [{ mediaType: 'Image', url, mime: 'image/png', filename: 'label.png' }] });
  expect((await deliverOutbound(`${t.bridge.url}/webhooks/genesys/${TEST.connectionId}`, body, TEST.webhookSecret)).status).toBe(200);
  return t.receiptFor(id);
}

/** A TikTok conversation whose customer has just written. */
async function tiktokCustomer() {
  const c = t.newConversation();
  await t.customerWrites(c);
  return c;
}

const image = (url: string, filename = 'photo.jpg') => ({ text: undefined, attachments: [{ mediaType: 'Image', url, mime: 'image/jpeg', filename }] });
const sha256 = (bytes: Uint8Array | undefined) => (bytes ? createHash('sha256').update(bytes).digest('hex') : undefined);
const requestsFor = (url: string) => {
  const id = new URL(url).pathname.split('/').pop()!;
  return t.genesys.downloadRequests.filter((r) => r.path.endsWith(`/${id}`));
};

describe("an agent's attachment for a platform that fetches by URL", () => {
  it('reaches Meta as a bridge /media link; fetching it gets the file Genesys holds, the token sent to Genesys only', async () => {
    const customer = await instagramCustomer();
    const url = t.genesys.hostAttachment({ bytes: PNG, mime: 'image/png', filename: 'label.png' });
    expect((await instagramAgentSends(customer, url)).status).toBe('Delivered');
    const sent = graph.sends.map((s) => s.body as { recipient: { id: string }; message: { attachment?: { type: string; payload: { url: string } } } }).find((b) => b.recipient.id === customer)!;
    expect(sent.message.attachment!.type).toBe('image');
    const link = sent.message.attachment!.payload.url;
    expect(link.startsWith(`${t.bridge.url}/media/`)).toBe(true);
    expect(link).not.toContain('/api/v2/downloads/');

    // Meta fetches it as it is, without a token.
    const fetched = await fetch(link);
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get('content-type')).toBe('image/png');
    expect(fetched.headers.get('x-content-type-options')).toBe('nosniff');
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(PNG);
    const seen = requestsFor(url);
    expect(seen.map((r) => [r.origin, r.status])).toEqual([
      ['downloads', 302],
      ['storage', 200],
    ]);
    expect(seen[0]!.authorization).toMatch(/^Bearer \S+$/);
    expect(seen[1]!.authorization).toBeUndefined();
  });

  it('refuses a link on a host that is not Genesys before anything is sent or fetched', async () => {
    const customer = await instagramCustomer();
    const receipt = await instagramAgentSends(customer, `${elsewhere.origin}/api/v2/downloads/abc`);
    expect(receipt.status).toBe('Failed');
    expect(receipt.reasons![0]!.message).toMatch(/^The attachment is not on a Genesys download host the bridge may fetch from, so the message was not sent\./);
    expect(graph.sends.filter((s) => (s.body as { recipient: { id: string } }).recipient.id === customer)).toEqual([]);
    expect(elsewhere.requests).toEqual([]);
  });
});

describe("an agent's attachment for a platform that takes uploads", () => {
  it('is downloaded with the Genesys token, following the redirect, and uploaded to TikTok byte for byte', async () => {
    const c = await tiktokCustomer();
    const url = t.genesys.hostAttachment({ bytes: JPEG, mime: 'image/jpeg', filename: 'photo.jpg' });
    expect((await t.receiptFor(await t.agentReplies(c.customer, image(url)))).status).toBe('Delivered');
    const upload = t.tiktok.uploads.at(-1)!;
    expect(upload).toMatchObject({ mime: 'image/jpeg', filename: 'photo.jpg' });
    expect(sha256(t.tiktok.uploadedBytes(upload.mediaId))).toBe(sha256(JPEG));
    const seen = requestsFor(url);
    expect(seen.map((r) => [r.origin, r.status, r.authorization?.startsWith('Bearer ') ?? false])).toEqual([
      ['downloads', 302, true],
      ['storage', 200, false],
    ]);
  });

  it('renews a Genesys token refused with 401 once, and delivers', async () => {
    const c = await tiktokCustomer();
    const url = t.genesys.hostAttachment({ bytes: JPEG, mime: 'image/jpeg', filename: 'photo.jpg' });
    const grants = t.genesys.tokenRequests;
    t.genesys.revokeTokens();
    expect((await t.receiptFor(await t.agentReplies(c.customer, image(url)))).status).toBe('Delivered');
    expect(requestsFor(url).map((r) => [r.origin, r.status])).toEqual([
      ['downloads', 401],
      ['downloads', 302],
      ['storage', 200],
    ]);
    expect(t.genesys.tokenRequests).toBe(grants + 1);
    const [refused, accepted] = requestsFor(url);
    expect(accepted!.authorization).not.toBe(refused!.authorization);
  });

  it('refuses a link on a host that is not Genesys with a Failed receipt, asking nothing of anyone', async () => {
    const c = await tiktokCustomer();
    const uploads = t.tiktok.uploads.length;
    const grants = t.genesys.tokenRequests;
    const receipt = await t.receiptFor(await t.agentReplies(c.customer, image(`${elsewhere.origin}/api/v2/downloads/abc`)));
    expect(receipt.status).toBe('Failed');
    expect(receipt.reasons![0]!.message).toMatch(/^The attachment is not on a Genesys download host the bridge may fetch from, so the message was not sent\./);
    expect(elsewhere.requests).toEqual([]);
    expect(t.genesys.tokenRequests).toBe(grants);
    expect(t.tiktok.uploads.length).toBe(uploads);
  });

  it('never follows a redirect to a private address, even on a host the operator allowed, nor to a host not allowed', async () => {
    const c = await tiktokCustomer();
    for (const redirectTo of [`https://${PRIVATE_HOST}/attachments/x.jpg`, `${elsewhere.origin}/attachments/x.jpg`]) {
      const url = t.genesys.hostAttachment({ bytes: JPEG, mime: 'image/jpeg', redirectTo });
      const receipt = await t.receiptFor(await t.agentReplies(c.customer, image(url)));
      expect(receipt.status, redirectTo).toBe('Failed');
      expect(receipt.reasons![0]!.message, redirectTo).toMatch(/^The bridge may not fetch this attachment from where Genesys sent it, so the message was not sent\./);
      // What the redirect target is, or what it answered, is not the agent's to read.
      expect(receipt.reasons![0]!.message, redirectTo).not.toMatch(/10\.0\.0\.7|internal|127\.0\.0\.1|private/);
      expect(requestsFor(url).map((r) => [r.origin, r.status])).toEqual([['downloads', 302]]);
    }
    expect(elsewhere.requests).toEqual([]);
  });
});
