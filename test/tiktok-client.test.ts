import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { TikTokClient } from '../src/channels/tiktok/api-client.js';
import { TikTokTokens } from '../src/channels/tiktok/auth.js';
import { buildTikTokSendRequests, buildTikTokTyping, type TikTokSendBody } from '../src/channels/tiktok/send.js';
import type { TikTokConnection } from '../src/channels/tiktok/config.js';
import type { OutboundMessageCommand } from '../src/core/commands.js';
import { PermanentError, RetryableError } from '../src/core/errors.js';
import { createMetrics } from '../src/metrics.js';
import { httpCall, type HttpCall } from '../src/net/http.js';
import { startFakeTikTok, type FakeTikTok } from '../src/channels/tiktok/sandbox/fake-tiktok.js';
import { startFakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { Store } from '../src/core/store.js';
import { TEST, TIKTOK_TEST, tiktokTestConnection, rejectionOf, countedRequests, testMedia } from './helpers.js';

const { appId: APP_ID, appSecret: APP_SECRET, businessId: BUSINESS, accessToken: ACCESS, refreshToken: REFRESH } = TIKTOK_TEST;
const CONVERSATION = 'u5Jh+pse/AhoPOlnH0tZ9y==';

const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...Array.from({ length: 2000 }, (_, i) => i % 251), 0xff, 0xd9]);
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({ length: 500 }, (_, i) => i % 13)]);
const GIF = new Uint8Array([...Buffer.from('GIF89a'), ...Array.from({ length: 100 }, () => 0)]);
const BIG = new Uint8Array(3 * 1024 * 1024 + 1).fill(7);
BIG.set([0xff, 0xd8, 0xff]);

/** Genesys keeps the agents' attachments behind its OAuth-protected downloads endpoint. */
const genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [] });
const FILES = {
  photo: genesys.hostAttachment({ bytes: JPEG, mime: 'image/jpeg', filename: 'photo.jpg' }),
  anim: genesys.hostAttachment({ bytes: GIF, mime: 'image/gif', filename: 'anim.gif' }),
  big: genesys.hostAttachment({ bytes: BIG, mime: 'image/jpeg', filename: 'big.jpg' }),
  bigChunked: genesys.hostAttachment({ bytes: BIG, mime: 'image/jpeg', filename: 'big.jpg', chunked: true }),
};

let fake: FakeTikTok;
let store: Store;

beforeEach(async () => {
  await fake?.close();
  await store?.close();
  fake = await startFakeTikTok({ appId: APP_ID, appSecret: APP_SECRET, businessId: BUSINESS, accessToken: ACCESS, refreshToken: REFRESH, conversations: [CONVERSATION] });
  store = openSqliteStore(':memory:');
});
afterAll(async () => {
  await fake.close();
  await store.close();
  await genesys.close();
});

function connection(): TikTokConnection {
  return tiktokTestConnection(fake.url);
}

function client(opts: { http?: HttpCall } = {}) {
  const metrics = createMetrics();
  const tokens = new TikTokTokens({ connection: connection(), store, metrics });
  const media = testMedia({ genesys, origins: [fake.url], metrics });
  return { client: new TikTokClient({ connection: connection(), tokens, metrics, ...media, ...opts }), metrics, tokens };
}

const text = (body: string): TikTokSendBody => ({ business_id: BUSINESS, recipient_type: 'CONVERSATION', recipient: CONVERSATION, message_type: 'TEXT', text: { body } });

describe('TikTokClient.send', () => {
  it('sends a text and returns the message_id TikTok answered, counting the call', async () => {
    const { client: c, metrics } = client();
    const result = await c.send(text('Your parcel ships today.'));
    expect(fake.sends).toHaveLength(1);
    expect(fake.sends[0]!.body).toEqual(text('Your parcel ships today.'));
    expect(result).toEqual({ messageId: fake.sends[0]!.messageId });
    expect(await countedRequests(metrics)).toEqual([{ target: 'tiktok', operation: 'send', status: '200', value: 1 }]);
  });

  it('authenticates with the Access-Token header, never Authorization: Bearer', async () => {
    const seen: Headers[] = [];
    const spy: HttpCall = (url, init, timeoutMs) => {
      seen.push(new Headers(init.headers));
      return httpCall(url, init, timeoutMs);
    };
    await client({ http: spy }).client.send(text('hi'));
    expect(seen[0]!.get('access-token')).toBe(ACCESS);
    expect(seen[0]!.get('authorization')).toBeNull();
    expect(fake.sends[0]!.accessToken).toBe(ACCESS);
  });

  it('sends a typing indicator (SENDER_ACTION) and returns no message id', async () => {
    expect(await client().client.send(buildTikTokTyping(BUSINESS, CONVERSATION))).toEqual({});
  });

  it('sends every step a built reply produces, as the fake validates them (text parts and a button card)', async () => {
    const command: OutboundMessageCommand = {
      kind: 'message',
      genesysMessageId: 'g1',
      integrationId: 'i1',
      customerId: '+ZMM6I2kQ',
      timestamp: Date.now(),
      originatingEntity: 'Human',
      text: 'Track another order?',
      quickReplies: [{ text: 'Yes', payload: 'YES' }, { text: 'No', payload: 'NO' }],
      attachments: [{ mediaType: 'Link', url: `${'x'.repeat(7000)} https://shop.test` }],
    };
    const { client: c } = client();
    for (const step of buildTikTokSendRequests(command, { businessId: BUSINESS, conversationId: CONVERSATION })) {
      if (step.kind === 'send') await c.send(step.body);
    }
    expect(fake.sends.map((s) => (s.body as { message_type: string }).message_type)).toEqual(['TEXT', 'TEXT', 'TEMPLATE']);
  });

  it('refreshes the token once when TikTok rejects it mid-conversation (40105), and the send succeeds', async () => {
    const { client: c, metrics } = client();
    await c.send(text('first'));
    fake.expireAccessToken();
    const result = await c.send(text('second'));
    expect(result.messageId).toBeDefined();
    expect(fake.refreshes).toHaveLength(1);
    expect(fake.sends.map((s) => s.accessToken)).toEqual([ACCESS, fake.currentTokens().accessToken]);
    expect(await countedRequests(metrics)).toEqual(
      expect.arrayContaining([
        { target: 'tiktok', operation: 'send', status: 'code_40105', value: 1 },
        { target: 'tiktok', operation: 'token_refresh', status: '200', value: 1 },
      ]),
    );
    // The next send uses the refreshed token straight away.
    await c.send(text('third'));
    expect(fake.refreshes).toHaveLength(1);
  });

  it('fails with the re-authorize sentence when TikTok rejects the token again after the refresh', async () => {
    fake.failNext(2, 40105, 'Access token is incorrect or has been revoked.');
    const err = await rejectionOf(client().client.send(text('hi')));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.reason).toBe('GeneralError');
    expect(err.message).toMatch(/^TikTok no longer accepts the bridge's access token for this account.*an administrator must re-authorize/);
    expect(err.message).toMatch(/\(TikTok error 40105, request_id \w+\)$/);
    expect(fake.refreshes).toHaveLength(1);
    expect(fake.sends).toHaveLength(0);
  });

  it('rejects a Bearer-prefixed token with 40105, like TikTok (key fact 2)', async () => {
    const res = await fetch(`${fake.url}/business/message/send/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'access-token': `Bearer ${ACCESS}` },
      body: JSON.stringify(text('hi')),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ code: 40105 });
  });

  it('turns 40100 into RateLimited with the account pause', async () => {
    fake.failNext(1, 40100, 'Too many requests.');
    const err = await rejectionOf(client().client.send(text('hi')));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err).toMatchObject({ reason: 'RateLimited', pauseKey: `tiktok:${BUSINESS}`, retryAfterMs: 300_000 });
  });

  it('turns an unknown conversation into InvalidDestination (40007) and an over-long text into InvalidMessageStructure (40002)', async () => {
    const { client: c } = client();
    expect((await rejectionOf(c.send({ ...text('hi'), recipient: 'gone==' }))).reason).toBe('InvalidDestination');
    expect((await rejectionOf(c.send(text('a'.repeat(6001))))).reason).toBe('InvalidMessageStructure');
  });

  it('retries nothing itself on a timeout, but reports it as a retryable ServerError', async () => {
    fake.setLatency(300);
    const tokens = new TikTokTokens({ connection: connection(), store });
    const err = await rejectionOf(new TikTokClient({ connection: connection(), tokens, timeoutMs: 50, ...testMedia() }).send(text('hi')));
    fake.setLatency(0);
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toMatch(/did not answer within 50 ms/);
  });
});

describe('TikTokClient images', () => {
  it('uploads a JPG and sends it as IMAGE with the media_id', async () => {
    const { client: c } = client();
    const mediaId = await c.uploadImage(JPEG, 'image/jpeg', 'photo.jpg');
    expect(fake.uploads).toEqual([expect.objectContaining({ mediaId, bytes: JPEG.length, mime: 'image/jpeg', filename: 'photo.jpg' })]);
    const result = await c.send({ business_id: BUSINESS, recipient_type: 'CONVERSATION', recipient: CONVERSATION, message_type: 'IMAGE', image: { media_id: mediaId } });
    expect(result.messageId).toBeDefined();
  });

  it('downloads a Genesys attachment with the Genesys token, uploads and sends it in one step', async () => {
    const { client: c, metrics } = client();
    const result = await c.sendImageFromUrl(CONVERSATION, FILES.photo, { mime: 'image/jpeg', filename: 'photo.jpg' });
    expect(result.messageId).toBeDefined();
    expect(fake.uploads).toEqual([expect.objectContaining({ bytes: JPEG.length, mime: 'image/jpeg', filename: 'photo.jpg' })]);
    expect(fake.sends[0]!.body).toMatchObject({ message_type: 'IMAGE', image: { media_id: fake.uploads[0]!.mediaId } });
    expect(await countedRequests(metrics)).toEqual(
      expect.arrayContaining([
        { target: 'genesys', operation: 'attachment_download', status: '200', value: 1 },
        { target: 'tiktok', operation: 'media_upload', status: '200', value: 1 },
      ]),
    );
  });

  it('refuses a GIF or a file over 3 MB locally, before TikTok sees it', async () => {
    const { client: c } = client();
    expect((await rejectionOf(c.uploadImage(GIF, 'image/gif', 'anim.gif'))).reason).toBe('MediaTypeNotAllowed');
    expect((await rejectionOf(c.uploadImage(GIF, 'image/png', 'disguised.png'))).reason).toBe('MediaTypeNotAllowed');
    expect((await rejectionOf(c.uploadImage(BIG, 'image/jpeg', 'big.jpg'))).reason).toBe('InvalidMediaContentLength');
    expect((await rejectionOf(c.sendImageFromUrl(CONVERSATION, FILES.anim))).reason).toBe('MediaTypeNotAllowed');
    expect((await rejectionOf(c.sendImageFromUrl(CONVERSATION, FILES.big))).reason).toBe('InvalidMediaContentLength');
    const chunked = await rejectionOf(c.sendImageFromUrl(CONVERSATION, FILES.bigChunked));
    expect(chunked).toMatchObject({ reason: 'InvalidMediaContentLength', message: expect.stringMatching(/^TikTok only accepts images up to 3 MB/) });
    expect(fake.uploads).toHaveLength(0);
    expect(fake.sends).toHaveLength(0);
  });

  it('accepts a PNG, and the fake itself refuses a non-image with 40908', async () => {
    const { client: c } = client();
    await c.uploadImage(PNG, 'image/png', 'chart.png');
    expect(fake.uploads[0]!.mime).toBe('image/png');
    const form = new FormData();
    form.set('business_id', BUSINESS);
    form.set('media_type', 'IMAGE');
    form.set('file', new Blob([GIF], { type: 'image/gif' }), 'anim.gif');
    const res = await fetch(`${fake.url}/business/message/media/upload/`, { method: 'POST', headers: { 'access-token': ACCESS }, body: form });
    expect(await res.json()).toMatchObject({ code: 40908 });
  });

  it('fails permanently when Genesys no longer has the attachment, without saying what Genesys answered', async () => {
    const err = await rejectionOf(client().client.sendImageFromUrl(CONVERSATION, `${genesys.url}/api/v2/downloads/missing`));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toMatch(/could not download the attachment from Genesys/);
    expect(err.message).not.toMatch(/404/);
  });
});

describe('TikTokClient media download', () => {
  const ref = { platform: 'tiktok', conversationId: CONVERSATION, messageId: 'u5Bu+qc6lAghuOel==', mediaId: 'v0mediaid', mediaType: 'IMAGE' } as const;

  it('asks for a download URL and streams the media with the x-user header', async () => {
    const { client: c } = client();
    const url = await c.mediaDownloadUrl(ref);
    expect(fake.downloads).toEqual([{ business_id: BUSINESS, conversation_id: CONVERSATION, message_id: ref.messageId, media_id: 'v0mediaid', media_type: 'IMAGE' }]);
    const plain = await fetch(url);
    expect(plain.status).toBe(403);
    const media = await c.fetchMedia(url);
    expect(media.contentType).toBe('image/jpeg');
    expect(new Uint8Array(await new Response(media.body).arrayBuffer())).toEqual(fake.mediaBytes('v0mediaid'));
  });

  it('renews the token once when the media URL refuses an expired one', async () => {
    const { client: c } = client();
    const url = await c.mediaDownloadUrl(ref);
    fake.expireAccessToken();
    const media = await c.fetchMedia(url);
    expect(new Uint8Array(await new Response(media.body).arrayBuffer())).toEqual(fake.mediaBytes('v0mediaid'));
    expect(fake.refreshes).toHaveLength(1);
  });
});
