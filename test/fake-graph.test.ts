import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphFailure, startFakeGraph, type FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';

const TOKEN = 'IGQVJ-fake-graph-token';
const ACCOUNT = '17841400000000042';
const CUSTOMER = '9900112233445566';

let graph: FakeGraph;

beforeAll(async () => {
  graph = await startFakeGraph({
    accessToken: TOKEN,
    accountId: ACCOUNT,
    apiVersion: 'v23.0',
    profiles: { [CUSTOMER]: { name: 'Jane Doe', username: 'jane.doe', profile_pic: 'https://example.test/jane.jpg' } },
  });
});

afterAll(async () => {
  await graph.close();
});

beforeEach(() => {
  graph.sends.length = 0;
  graph.setLatency(0);
  graph.setResponseHeaders({});
});

async function getJson(path: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
  const res = await fetch(`${graph.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

async function send(body: unknown, path = `/v23.0/${ACCOUNT}/messages`, token = TOKEN) {
  const res = await fetch(`${graph.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const text = (t: string, extra: Record<string, unknown> = {}) => ({ recipient: { id: CUSTOMER }, message: { text: t }, ...extra });

describe('fake Graph API: profiles', () => {
  it('answers the requested profile fields for a known customer', async () => {
    const res = await getJson(`/v23.0/${CUSTOMER}?fields=name,username,profile_pic`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: CUSTOMER, name: 'Jane Doe', username: 'jane.doe', profile_pic: 'https://example.test/jane.jpg' });
  });

  it('returns only the fields asked for', async () => {
    expect((await getJson(`/v23.0/${CUSTOMER}?fields=username`)).body).toEqual({ id: CUSTOMER, username: 'jane.doe' });
  });

  it('accepts the token as an access_token query parameter', async () => {
    const res = await getJson(`/v23.0/${CUSTOMER}?fields=name&access_token=${TOKEN}`, {});
    expect(res.body).toEqual({ id: CUSTOMER, name: 'Jane Doe' });
  });

  it('answers a missing or wrong token with the 190 OAuthException', async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer nope' }, { authorization: TOKEN }];
    for (const headers of attempts) {
      const res = await getJson(`/v23.0/${CUSTOMER}?fields=name`, headers);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'OAuthException', code: 190 });
      expect(res.body.error.fbtrace_id).toEqual(expect.any(String));
    }
  });

  it('answers an unknown customer with 100 / 2534014', async () => {
    const res = await getJson('/v23.0/1234567890?fields=name');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 100, error_subcode: 2534014 });
  });

  it('refuses another API version than the one configured', async () => {
    const res = await getJson(`/v19.0/${CUSTOMER}?fields=name`);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 2500 });
  });
});

describe('fake Graph API: Send API', () => {
  it('accepts a text message, answers a fresh mid and records the send', async () => {
    const first = await send(text('Hello'));
    const second = await send(text('Hello again'), `/v23.0/me/messages`);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ recipient_id: CUSTOMER, message_id: expect.any(String) });
    expect(second.body.message_id).not.toBe(first.body.message_id);
    expect(graph.sends.map((s) => [s.path, s.body])).toEqual([
      [`/v23.0/${ACCOUNT}/messages`, text('Hello')],
      ['/v23.0/me/messages', text('Hello again')],
    ]);
    expect(graph.sends.map((s) => s.messageId)).toEqual([first.body.message_id, second.body.message_id]);
  });

  it('answers a wrong token with 190 and records nothing', async () => {
    const res = await send(text('Hello'), undefined, 'wrong');
    expect(res.body.error).toMatchObject({ code: 190, type: 'OAuthException' });
    expect(graph.sends).toEqual([]);
  });

  it('refuses to send as another account', async () => {
    const res = await send(text('Hello'), '/v23.0/17841400000009999/messages');
    expect(res.body.error).toMatchObject({ code: 100, error_subcode: 33 });
  });

  it('accepts text up to 1000 UTF-8 bytes and refuses one byte more', async () => {
    expect((await send(text('é'.repeat(500)))).status).toBe(200);
    const tooLong = await send(text(`${'é'.repeat(500)}a`));
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error).toMatchObject({ code: 100, type: 'OAuthException' });
    expect(tooLong.body.error.message).toMatch(/^\(#100\) Length of param message\[text\]/);
  });

  it('accepts media by URL and up to 10 images, refusing unknown attachment types', async () => {
    const image = { type: 'image', payload: { url: 'https://media.dmbridge.example/a.jpg' } };
    expect((await send({ recipient: { id: CUSTOMER }, message: { attachment: image } })).status).toBe(200);
    expect((await send({ recipient: { id: CUSTOMER }, message: { attachments: Array(10).fill(image) } })).status).toBe(200);
    expect((await send({ recipient: { id: CUSTOMER }, message: { attachments: Array(11).fill(image) } })).status).toBe(400);
    const sticker = await send({ recipient: { id: CUSTOMER }, message: { attachment: { type: 'sticker', payload: { url: 'https://x.test/s.png' } } } });
    expect(sticker.body.error).toMatchObject({ code: 100 });
    const noUrl = await send({ recipient: { id: CUSTOMER }, message: { attachment: { type: 'video', payload: {} } } });
    expect(noUrl.body.error).toMatchObject({ code: 100 });
  });

  it('refuses a body without recipient id, or with both or neither of message and sender_action', async () => {
    for (const body of [
      { message: { text: 'hi' } },
      { recipient: {}, message: { text: 'hi' } },
      { recipient: { id: CUSTOMER } },
      { recipient: { id: CUSTOMER }, message: { text: 'hi' }, sender_action: 'typing_on' },
      { recipient: { id: CUSTOMER }, message: { text: 'hi', attachment: { type: 'image', payload: { url: 'https://x.test/a.jpg' } } } },
      { recipient: { id: CUSTOMER }, message: {} },
    ]) {
      const res = await send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatchObject({ code: 100 });
    }
    expect(graph.sends).toEqual([]);
  });

  it('answers sender actions with the recipient only', async () => {
    const typing = await send({ recipient: { id: CUSTOMER }, sender_action: 'typing_on' });
    expect(typing.body).toEqual({ recipient_id: CUSTOMER });
    const react = await send({ recipient: { id: CUSTOMER }, sender_action: 'react', payload: { message_id: 'mid-1', reaction: 'love' } });
    expect(react.body).toEqual({ recipient_id: CUSTOMER });
    const bad = await send({ recipient: { id: CUSTOMER }, sender_action: 'dance' });
    expect(bad.body.error).toMatchObject({ code: 100 });
  });

  it('allows the HUMAN_AGENT tag only with messaging_type MESSAGE_TAG', async () => {
    expect((await send(text('Still here', { messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' }))).status).toBe(200);
    expect((await send(text('Hi', { messaging_type: 'RESPONSE' }))).status).toBe(200);
    for (const extra of [{ messaging_type: 'MESSAGE_TAG' }, { messaging_type: 'MESSAGE_TAG', tag: 'ACCOUNT_UPDATE' }, { tag: 'HUMAN_AGENT' }, { messaging_type: 'PROMO' }]) {
      expect((await send(text('Hi', extra))).body.error, JSON.stringify(extra)).toMatchObject({ code: 100 });
    }
  });

  it('checks quick replies: at most 13, titles of at most 20 characters', async () => {
    const qr = (title: string) => ({ content_type: 'text', title, payload: 'P' });
    const withQuickReplies = (list: unknown[]) => ({ recipient: { id: CUSTOMER }, message: { text: 'Pick one', quick_replies: list } });
    expect((await send(withQuickReplies(Array(13).fill(qr('Order status'))))).status).toBe(200);
    expect((await send(withQuickReplies(Array(14).fill(qr('Order status'))))).status).toBe(400);
    expect((await send(withQuickReplies([qr('x'.repeat(21))]))).status).toBe(400);
  });

  it('answers the next n sends with an injected failure, then recovers', async () => {
    const throttled = { error: { message: '(#4) Application request limit reached', type: 'OAuthException', code: 4, is_transient: true, fbtrace_id: 'AbC' } };
    graph.failNext(2, { status: 429, body: throttled, headers: { 'retry-after': '3' } });
    for (let i = 0; i < 2; i++) {
      const res = await send(text('Hello'));
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('3');
      expect(res.body).toEqual(throttled);
    }
    expect((await send(text('Hello'))).status).toBe(200);
    expect(graph.sends).toHaveLength(1);
  });

  it('delays answers by the configured latency', async () => {
    graph.setLatency(120);
    const started = Date.now();
    await send(text('Hello'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });

  it('answers unknown paths with the Graph error envelope', async () => {
    const res = await fetch(`${graph.url}/v23.0/${ACCOUNT}/conversations`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({ code: 2500 });
  });

  it('builds injected failures in the Graph envelope, for any code and subcode', async () => {
    graph.failNext(1, graphFailure(10, 2534022));
    graph.failNext(1, graphFailure(2, undefined, { status: 500, isTransient: true }));
    const expired = await send(text('Hello'));
    expect(expired.status).toBe(400);
    expect(expired.body.error).toMatchObject({ code: 10, error_subcode: 2534022, fbtrace_id: expect.any(String) });
    const transient = await send(text('Hello'));
    expect(transient.status).toBe(500);
    expect(transient.body.error).toMatchObject({ code: 2, is_transient: true });
    expect(transient.body.error).not.toHaveProperty('error_subcode');
  });

  it('fails profile reads on demand without touching sends', async () => {
    graph.failNext(1, graphFailure(230, undefined, { message: 'User consent is required to access user profile' }), 'profile');
    expect((await send(text('Hello'))).status).toBe(200);
    const refused = await getJson(`/v23.0/${CUSTOMER}?fields=name`);
    expect(refused.body.error).toMatchObject({ code: 230 });
    expect((await getJson(`/v23.0/${CUSTOMER}?fields=name`)).status).toBe(200);
  });

  it('adds the configured usage headers to every answer', async () => {
    const usage = JSON.stringify({ [ACCOUNT]: [{ type: 'instagram', call_count: 96, total_cputime: 10, total_time: 10, estimated_time_to_regain_access: 0 }] });
    graph.setResponseHeaders({ 'x-business-use-case-usage': usage });
    expect((await send(text('Hello'))).headers.get('x-business-use-case-usage')).toBe(usage);
    graph.failNext(1, graphFailure(4));
    expect((await send(text('Hello'))).headers.get('x-business-use-case-usage')).toBe(usage);
    expect((await getJson(`/v23.0/${CUSTOMER}?fields=name`)).headers.get('x-business-use-case-usage')).toBe(usage);
  });
});
