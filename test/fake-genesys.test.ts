/**
 * The fake Genesys must be at least as strict as the real one, or the bridge's tests prove nothing.
 * Raw HTTP only: these tests do not use the bridge's Genesys client.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { parseGenesysOutbound } from '../src/genesys/webhook/parse.js';
import { verifyGenesysSignature } from '../src/genesys/webhook/verify.js';
import { deliverOutbound, outboundWebhookBody, startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';

const CLIENT_ID = 'fake-test-client';
const CLIENT_SECRET = 'fake-test-secret-0123456789';
const INTEGRATION = 'feed0000-1111-4222-8333-944455566677';

const fake: FakeGenesys = await startFakeGenesys({
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  integrationIds: [INTEGRATION],
});
afterAll(() => fake.close());

beforeEach(() => {
  fake.messages.length = 0;
  fake.setLatency(0);
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

function requestToken(authorization: string | undefined, form = 'grant_type=client_credentials', url = fake.url) {
  return fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    body: form,
  });
}

async function token(url = fake.url): Promise<string> {
  const res = await requestToken(basic(CLIENT_ID, CLIENT_SECRET), undefined, url);
  return ((await res.json()) as { access_token: string }).access_token;
}

const validToken = await token();

function post(endpoint: 'message' | 'event' | 'receipt', body: unknown, opts: { bearer?: string; integrationId?: string; query?: string } = {}) {
  const auth = opts.bearer ?? validToken;
  return fetch(
    `${fake.url}/api/v2/conversations/messages/${opts.integrationId ?? INTEGRATION}/inbound/open/${endpoint}${opts.query ?? ''}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    },
  );
}

const textMessage = () => ({
  channel: {
    messageId: 'ig-mid-0001',
    from: { id: '9900112233445566', idType: 'Opaque', nickname: 'jane.doe' },
    time: '2026-03-02T09:15:30.120Z',
    metadata: { customAttributes: { 'dmbridge.channel': 'instagram' } },
  },
  text: 'Hi, where is my order?',
});

const imageAttachment = (n = 1) => ({
  attachment: { mediaType: 'Image', url: `https://media.example/m/${n}.jpg`, mime: 'image/jpeg', filename: `${n}.jpg` },
});

/** Deep-clones the valid message and applies one change. */
function messageWith(change: (m: Record<string, any>) => void): unknown {
  const m = structuredClone(textMessage()) as Record<string, any>;
  change(m);
  return m;
}

async function expectBadRequest(res: Response, messagePart: string | RegExp): Promise<void> {
  expect(res.status).toBe(400);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toEqual({
    message: expect.any(String),
    code: 'bad.request',
    status: 400,
    contextId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    details: [],
    errors: [],
  });
  expect(body.message).toMatch(messagePart);
}

describe('fake Genesys: OAuth client credentials', () => {
  it('issues an opaque bearer token for the right Basic credentials and form grant', async () => {
    const res = await requestToken(basic(CLIENT_ID, CLIENT_SECRET));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 86_400 });
  });

  it('answers 401 invalid_client for a wrong secret or no Authorization header', async () => {
    for (const auth of [basic(CLIENT_ID, 'nope'), undefined]) {
      const res = await requestToken(auth);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'invalid_client' });
    }
  });

  it('answers 400 unsupported_grant_type for another grant', async () => {
    const res = await requestToken(basic(CLIENT_ID, CLIENT_SECRET), 'grant_type=password');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });
});

describe('fake Genesys: inbound endpoints authorization and routing', () => {
  it('answers 401 without a bearer token or with an unknown one', async () => {
    expect((await post('message', textMessage(), { bearer: '' })).status).toBe(401);
    const res = await post('message', textMessage(), { bearer: 'made-up' });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'bad.credentials', status: 401 });
  });

  it('answers 401 once the token has expired', async () => {
    const shortLived = await startFakeGenesys({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, integrationIds: [INTEGRATION], tokenTtlSec: 1 });
    try {
      const t = await token(shortLived.url);
      const send = () =>
        fetch(`${shortLived.url}/api/v2/conversations/messages/${INTEGRATION}/inbound/open/message`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` },
          body: JSON.stringify(textMessage()),
        });
      expect((await send()).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await send()).status).toBe(401);
    } finally {
      await shortLived.close();
    }
  });

  it('answers 404 for an integration id it does not know', async () => {
    const res = await post('message', textMessage(), { integrationId: 'not-an-integration' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'not.found', status: 404 });
  });
});

describe('fake Genesys: inbound message schema', () => {
  it('accepts a valid message and answers an OpenMessageNormalizedMessage with a fresh id', async () => {
    const res = await post('message', textMessage());
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      type: 'Text',
      text: 'Hi, where is my order?',
      channel: { id: INTEGRATION, platform: 'Open', type: 'Private', messageId: 'ig-mid-0001', from: { id: '9900112233445566' } },
    });
    expect(body.conversationId).toBeUndefined();
    expect(fake.messages).toEqual([{ integrationId: INTEGRATION, body: textMessage(), id: body.id, at: expect.any(Number) }]);
  });

  it('adds a conversationId, stable per customer, with ?prefetchConversationId=true', async () => {
    const a = (await (await post('message', textMessage(), { query: '?prefetchConversationId=true' })).json()) as { conversationId: string };
    const b = (await (await post('message', textMessage(), { query: '?prefetchConversationId=true' })).json()) as { conversationId: string };
    expect(a.conversationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.conversationId).toBe(a.conversationId);
  });

  it('accepts an attachment without text', async () => {
    const res = await post('message', messageWith((m) => { delete m.text; m.content = [imageAttachment()]; }));
    expect(res.status).toBe(200);
  });

  it('rejects a message with neither text nor content, in Genesys words', async () => {
    await expectBadRequest(
      await post('message', messageWith((m) => delete m.text)),
      "should have required property 'content', should have required property '.text', should match some schema in anyOf",
    );
  });

  it('rejects a missing channel.from.id', async () => {
    await expectBadRequest(await post('message', messageWith((m) => delete m.channel.from.id)), /\.channel\.from\.id/);
  });

  it.each(['email', 'Instagram', ''])('rejects from.idType %j', async (idType) => {
    await expectBadRequest(await post('message', messageWith((m) => (m.channel.from.idType = idType))), /\.channel\.from\.idType/);
  });

  it.each(['2026-03-02 09:15:30', '1772442930120', 'yesterday'])('rejects channel.time %j that is not ISO-8601 UTC', async (time) => {
    await expectBadRequest(await post('message', messageWith((m) => (m.channel.time = time))), /\.channel\.time/);
  });

  it('rejects a missing channel.time', async () => {
    await expectBadRequest(await post('message', messageWith((m) => delete m.channel.time)), /\.channel\.time/);
  });

  it('rejects more than one attachment', async () => {
    await expectBadRequest(await post('message', messageWith((m) => (m.content = [imageAttachment(1), imageAttachment(2)]))), /\.content/);
  });

  it('rejects a content item that is not an attachment (legacy contentType, quick reply)', async () => {
    await expectBadRequest(
      await post('message', messageWith((m) => (m.content = [{ contentType: 'Attachment', ...imageAttachment() }]))),
      /should NOT have additional properties: contentType/,
    );
    await expectBadRequest(
      await post('message', messageWith((m) => (m.content = [{ quickReply: { text: 'Yes', payload: 'YES' } }]))),
      /\.content\.0/,
    );
  });

  it.each(['Sticker', 'image', 'Story'])('rejects attachment mediaType %j', async (mediaType) => {
    const res = await post('message', messageWith((m) => (m.content = [{ attachment: { ...imageAttachment().attachment, mediaType } }])));
    await expectBadRequest(res, /\.content\.0\.attachment\.mediaType/);
  });

  it.each(['url', 'mime'])('rejects an attachment without %s', async (field) => {
    const attachment: Record<string, unknown> = { ...imageAttachment().attachment };
    delete attachment[field];
    await expectBadRequest(await post('message', messageWith((m) => (m.content = [{ attachment }]))), new RegExp(`attachment\\.${field}`));
  });

  it('rejects a customAttributes value that is not a string', async () => {
    const res = await post('message', messageWith((m) => (m.channel.metadata.customAttributes.count = 3)));
    await expectBadRequest(res, /\.channel\.metadata\.customAttributes\.count/);
  });

  it('rejects customAttributes anywhere but channel.metadata', async () => {
    await expectBadRequest(
      await post('message', messageWith((m) => (m.metadata = { customAttributes: { source: 'instagram' } }))),
      /\.metadata\.customAttributes/,
    );
    await expectBadRequest(
      await post('message', messageWith((m) => (m.channel.customAttributes = { source: 'instagram' }))),
      /should NOT have additional properties: customAttributes/,
    );
  });

  it('accepts a top-level metadata string map, as the model declares', async () => {
    expect((await post('message', messageWith((m) => (m.metadata = { source: 'instagram' })))).status).toBe(200);
  });

  it.each([
    ['type', (m: Record<string, any>) => (m.type = 'Text')],
    ['direction', (m: Record<string, any>) => (m.direction = 'Inbound')],
    ['to', (m: Record<string, any>) => (m.channel.to = { id: INTEGRATION })],
  ])('rejects the legacy field %s', async (field, change) => {
    await expectBadRequest(await post('message', messageWith(change)), new RegExp(`should NOT have additional properties: ${field}`));
  });

  it('rejects a body that is not JSON', async () => {
    await expectBadRequest(await post('message', '{not json'), /malformed syntax/);
  });
});

describe('fake Genesys: receipts and events', () => {
  const receipt = (status: string, extra: Record<string, unknown> = {}) => ({
    id: 'b1c2d3e4f5a60718293a4b5c6d7e8f90',
    channel: { to: { id: '9900112233445566', idType: 'Opaque' }, time: '2026-03-02T09:20:01.500Z' },
    status,
    isFinalReceipt: true,
    ...extra,
  });

  it('accepts a Delivered receipt and a Failed one with reasons', async () => {
    expect((await post('receipt', receipt('Delivered'))).status).toBe(200);
    const res = await post('receipt', receipt('Failed', { reasons: [{ code: 'MessageExpired', message: 'window closed' }] }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: 'b1c2d3e4f5a60718293a4b5c6d7e8f90', type: 'Receipt', status: 'Failed' });
  });

  it.each(['Read', 'Sent', 'delivered'])('rejects receipt status %j', async (status) => {
    await expectBadRequest(await post('receipt', receipt(status)), /\.status/);
  });

  it('rejects a Failed receipt without reasons, or with a reason lacking a message', async () => {
    await expectBadRequest(await post('receipt', receipt('Failed')), /\.reasons/);
    await expectBadRequest(await post('receipt', receipt('Failed', { reasons: [{ code: 'GeneralError' }] })), /\.reasons\.0\.message/);
  });

  it('rejects a reason code Genesys does not define', async () => {
    const res = await post('receipt', receipt('Failed', { reasons: [{ code: 'WindowClosed', message: 'window closed' }] }));
    await expectBadRequest(res, /\.reasons\.0\.code/);
  });

  it('records accepted receipts, and waitForReceipts resolves once enough arrived and rejects on timeout', async () => {
    fake.receipts.length = 0;
    const waiting = fake.waitForReceipts(2, 2000);
    await post('receipt', receipt('Delivered'));
    await post('receipt', receipt('Failed')); // rejected: not recorded
    await post('receipt', receipt('Failed', { reasons: [{ message: 'blocked' }] }));
    await expect(waiting).resolves.toBeUndefined();
    expect(fake.receipts.map((r) => (r.body as { status: string }).status)).toEqual(['Delivered', 'Failed']);
    await expect(fake.waitForReceipts(3, 100)).rejects.toThrow('2 of 3 receipts');
  });

  it('rejects a receipt without id, channel.to.id or channel.time', async () => {
    const noId: Record<string, unknown> = receipt('Delivered');
    delete noId.id;
    await expectBadRequest(await post('receipt', noId), /\.id/);
    await expectBadRequest(await post('receipt', { ...receipt('Delivered'), channel: { to: {}, time: '2026-03-02T09:20:01Z' } }), /\.channel\.to\.id/);
    await expectBadRequest(await post('receipt', { ...receipt('Delivered'), channel: { to: { id: 'x' } } }), /\.channel\.time/);
  });

  it('accepts a Typing event and rejects an unknown event type', async () => {
    const channel = { from: { id: '9900112233445566', idType: 'Opaque' }, time: '2026-03-02T09:15:29Z' };
    const ok = await post('event', { channel, events: [{ eventType: 'Typing' }] });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ type: 'Event', events: [{ eventType: 'Typing' }] });
    await expectBadRequest(await post('event', { channel, events: [{ eventType: 'Presence' }] }), /\.events\.0\.eventType/);
  });
});

describe('fake Genesys: test controls', () => {
  it('answers queued failures in order, then recovers', async () => {
    fake.failNext(1, { status: 503 });
    fake.failNext(1, { status: 429, headers: { 'Retry-After': '7' } });
    expect((await post('message', textMessage())).status).toBe(503);
    const limited = await post('message', textMessage());
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(await limited.json()).toMatchObject({
      message: 'Rate limit exceeded the maximum. Retry the request in [7] seconds',
      code: 'too.many.requests.retry.after',
      status: 429,
    });
    expect((await post('message', textMessage())).status).toBe(200);
    expect(fake.messages).toHaveLength(1);
  });

  it("holds a request that should time out until the caller's deadline", async () => {
    fake.failNext(1, 'timeout');
    const started = Date.now();
    const err = await fetch(`${fake.url}/api/v2/conversations/messages/${INTEGRATION}/inbound/open/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${validToken}` },
      body: JSON.stringify(textMessage()),
      signal: AbortSignal.timeout(200),
    }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(fake.messages).toHaveLength(0);
  });

  it('records every inbound request with its arrival, answer time and status', async () => {
    const before = fake.inboundRequests.length;
    fake.failNext(1, { status: 503 });
    const started = Date.now();
    expect((await post('message', textMessage())).status).toBe(503);
    expect((await post('message', textMessage())).status).toBe(200);
    expect((await post('event', { channel: textMessage().channel, events: [] })).status).toBe(400);
    expect(fake.inboundRequests.slice(before)).toEqual([
      { endpoint: 'message', at: expect.any(Number), answeredAt: expect.any(Number), status: 503, timedOut: false },
      { endpoint: 'message', at: expect.any(Number), answeredAt: expect.any(Number), status: 200, timedOut: false },
      { endpoint: 'event', at: expect.any(Number), answeredAt: expect.any(Number), status: 400, timedOut: false },
    ]);
    for (const r of fake.inboundRequests.slice(before)) {
      expect(r.at).toBeGreaterThanOrEqual(started);
      expect(r.answeredAt).toBeGreaterThanOrEqual(r.at);
    }
  });

  it('answers every request during an outage with its failures in turn, then recovers', async () => {
    const before = Date.now();
    const window = fake.outage(400, [{ status: 503 }, { status: 429, headers: { 'Retry-After': '2' } }]);
    expect(window.from).toBeGreaterThanOrEqual(before);
    expect(window.until).toBe(window.from + 400);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await post('message', textMessage()));
    expect(answers.map((r) => r.status)).toEqual([503, 429, 503]);
    expect(answers[1]!.headers.get('retry-after')).toBe('2');
    expect(fake.messages).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 450));
    expect((await post('message', textMessage())).status).toBe(200);
    expect(fake.messages).toHaveLength(1);
  });

  it('holds requests that time out during an outage until it ends, answers 504 and records no message', async () => {
    const before = fake.inboundRequests.length;
    fake.outage(300, 'timeout');
    const started = Date.now();
    const caller = await fetch(`${fake.url}/api/v2/conversations/messages/${INTEGRATION}/inbound/open/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${validToken}` },
      body: JSON.stringify(textMessage()),
      signal: AbortSignal.timeout(100),
    }).catch((e: unknown) => e);
    expect((caller as Error).name).toBe('TimeoutError');
    // A caller that waits longer gets the 504 when the outage ends.
    const patient = await post('message', textMessage());
    expect(patient.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(fake.messages).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(fake.inboundRequests.slice(before).map((r) => [r.status, r.timedOut])).toEqual([
      [504, true],
      [504, true],
    ]);
    expect((await post('message', textMessage())).status).toBe(200);
  });

  it('can take the token endpoint down too', async () => {
    fake.outage(200, { status: 503 }, 'token');
    expect((await requestToken(basic(CLIENT_ID, CLIENT_SECRET))).status).toBe(503);
    expect((await post('message', textMessage())).status).toBe(200);
    await new Promise((r) => setTimeout(r, 250));
    expect((await requestToken(basic(CLIENT_ID, CLIENT_SECRET))).status).toBe(200);
  });

  it('delays answers by the configured latency', async () => {
    fake.setLatency(150);
    const started = Date.now();
    expect((await post('message', textMessage())).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('waitForMessages resolves once enough messages arrived and rejects on timeout', async () => {
    const waiting = fake.waitForMessages(2, 2000);
    await post('message', textMessage());
    await post('message', textMessage());
    await expect(waiting).resolves.toBeUndefined();
    await expect(fake.waitForMessages(5, 100)).rejects.toThrow('2 of 5 messages');
  });

  it('lists received messages on GET /sandbox/messages', async () => {
    await post('message', textMessage());
    const list = (await (await fetch(`${fake.url}/sandbox/messages`)).json()) as Array<{ integrationId: string; body: unknown }>;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ integrationId: INTEGRATION, body: textMessage() });
  });
});

describe('fake Genesys: outbound notifications (playing the agent)', () => {
  const SECRET = 'genesys-webhook-secret-0123456789';
  const CUSTOMER = '9900112233445566';

  /** A local webhook receiver answering each POST with the next scripted status; 'hold' never answers. */
  async function receiver(script: Array<number | 'hold'>) {
    const requests: Array<{ raw: Buffer; signature: string | undefined; contentType: string | undefined }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const signature = req.headers['x-hub-signature-256'];
        requests.push({ raw: Buffer.concat(chunks), signature: typeof signature === 'string' ? signature : undefined, contentType: req.headers['content-type'] });
        const next = script[requests.length - 1] ?? 200;
        if (next !== 'hold') res.writeHead(next, { 'content-type': 'text/plain' }).end(`answer ${next}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/genesys/acme-instagram`,
      requests,
      close: () => {
        server.closeAllConnections();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  const agentReply = () => outboundWebhookBody({ integrationId: INTEGRATION, customerId: CUSTOMER, text: 'Your parcel ships today.' });

  it('builds an agent text notification in the shape Genesys sends', () => {
    const { id, body } = agentReply();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(body).toEqual({
      id,
      channel: {
        id: INTEGRATION,
        platform: 'Open',
        type: 'Private',
        messageId: id,
        to: { id: CUSTOMER, idType: 'Opaque' },
        from: { nickname: expect.any(String), id: INTEGRATION, idType: 'Opaque' },
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      },
      conversationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'Text',
      text: 'Your parcel ships today.',
      direction: 'Outbound',
      originatingEntity: 'Human',
    });
  });

  it('builds notifications the bridge parses into the intended commands', () => {
    const image = outboundWebhookBody({
      integrationId: INTEGRATION,
      customerId: CUSTOMER,
      originatingEntity: 'Bot',
      attachments: [{ mediaType: 'Image', url: 'https://api-downloads.mypurecloud.ie/api/v2/downloads/abc', mime: 'image/png', filename: 'a.png' }],
    });
    expect(parseGenesysOutbound(image.body)).toMatchObject({
      kind: 'command',
      command: { kind: 'message', genesysMessageId: image.id, originatingEntity: 'Bot', attachments: [{ mediaType: 'Image', filename: 'a.png' }] },
    });
    const quickReplies = outboundWebhookBody({
      integrationId: INTEGRATION,
      customerId: CUSTOMER,
      type: 'Structured',
      text: 'Track another order?',
      content: [{ contentType: 'QuickReply', quickReply: { text: 'Yes', payload: 'YES' } }],
    });
    expect(parseGenesysOutbound(quickReplies.body)).toMatchObject({ kind: 'command', command: { quickReplies: [{ text: 'Yes', payload: 'YES' }] } });
    const typing = outboundWebhookBody({ integrationId: INTEGRATION, customerId: CUSTOMER, type: 'Event' });
    expect(parseGenesysOutbound(typing.body)).toMatchObject({ kind: 'command', command: { kind: 'typing' } });
    const receipt = outboundWebhookBody({ integrationId: INTEGRATION, customerId: CUSTOMER, type: 'Receipt' });
    expect(parseGenesysOutbound(receipt.body)).toEqual({ kind: 'ignore', reason: 'receipt', genesysMessageId: receipt.id });
  });

  it('retries like Genesys: 503, 503 then 200 takes 3 attempts, each signed in base64 over the exact bytes', async () => {
    const bridge = await receiver([503, 503, 200]);
    try {
      const { body } = agentReply();
      const result = await deliverOutbound(bridge.url, body, SECRET, { retryDelayMs: 10 });
      expect(result).toEqual({ status: 200, text: 'answer 200', attempts: 3 });
      expect(bridge.requests).toHaveLength(3);
      for (const request of bridge.requests) {
        expect(request.contentType).toBe('application/json');
        expect(request.raw.toString('utf8')).toBe(JSON.stringify(body));
        expect(verifyGenesysSignature(request.raw, request.signature, SECRET)).toEqual({ ok: true, variant: 'base64' });
      }
    } finally {
      await bridge.close();
    }
  });

  it('signs in hex when asked', async () => {
    const bridge = await receiver([200]);
    try {
      await deliverOutbound(bridge.url, agentReply().body, SECRET, { encoding: 'hex' });
      expect(verifyGenesysSignature(bridge.requests[0]!.raw, bridge.requests[0]!.signature, SECRET)).toEqual({ ok: true, variant: 'hex' });
    } finally {
      await bridge.close();
    }
  });

  it('retries 429 and a timed-out attempt', async () => {
    const bridge = await receiver([429, 'hold', 200]);
    try {
      const result = await deliverOutbound(bridge.url, agentReply().body, SECRET, { retryDelayMs: 10, timeoutMs: 200 });
      expect(result).toMatchObject({ status: 200, attempts: 3 });
    } finally {
      await bridge.close();
    }
  });

  it('gives up after 5 retries (6 attempts) and returns the last answer', async () => {
    const bridge = await receiver(Array(10).fill(500));
    try {
      const result = await deliverOutbound(bridge.url, agentReply().body, SECRET, { retryDelayMs: 1 });
      expect(result).toMatchObject({ status: 500, attempts: 6 });
      expect(bridge.requests).toHaveLength(6);
    } finally {
      await bridge.close();
    }
  });

  it('rejects when the last attempt timed out too', async () => {
    const bridge = await receiver(Array(6).fill('hold'));
    try {
      await expect(deliverOutbound(bridge.url, agentReply().body, SECRET, { retryDelayMs: 1, timeoutMs: 50 })).rejects.toThrow(
        'did not answer within 50 ms on the last of 6 attempts',
      );
    } finally {
      await bridge.close();
    }
  });

  it.each([200, 202, 400, 401])('does not retry a %i answer', async (status) => {
    const bridge = await receiver([status, 200]);
    try {
      expect(await deliverOutbound(bridge.url, agentReply().body, SECRET, { retryDelayMs: 1 })).toMatchObject({ status, attempts: 1 });
    } finally {
      await bridge.close();
    }
  });

  it('sends a string body byte for byte', async () => {
    const bridge = await receiver([200]);
    try {
      const pretty = JSON.stringify(agentReply().body, null, 2);
      await deliverOutbound(bridge.url, pretty, SECRET);
      expect(bridge.requests[0]!.raw.toString('utf8')).toBe(pretty);
      expect(verifyGenesysSignature(bridge.requests[0]!.raw, bridge.requests[0]!.signature, SECRET)).toEqual({ ok: true, variant: 'base64' });
    } finally {
      await bridge.close();
    }
  });
});
