import type { Models } from 'purecloud-platform-client-v2';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { GenesysConfig } from '../src/genesys/config.js';
import { PermanentError, RetryableError } from '../src/core/errors.js';
import type { InboundMessage } from '../src/core/events.js';
import { GenesysTokenProvider } from '../src/genesys/auth.js';
import { GenesysClient } from '../src/genesys/client.js';
import { classifyGenesysResponse } from '../src/genesys/errors.js';
import { buildGenesysInboundMessage } from '../src/genesys/translate.js';
import { createMetrics } from '../src/metrics.js';
import { httpCall, type HttpCall } from '../src/net/http.js';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { capturedLogger, genesysTestConfig, rejectionOf } from './helpers.js';

const CLIENT_ID = 'client-test-client';
const CLIENT_SECRET = 'client-test-secret-0123456789';
const INTEGRATION = '0a1b2c3d-1111-4222-8333-944455566677';
const CUSTOMER = '9900112233445566';

const fake: FakeGenesys = await startFakeGenesys({
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  integrationIds: [INTEGRATION],
});
afterAll(() => fake.close());

beforeEach(() => {
  fake.messages.length = 0;
  fake.receipts.length = 0;
  fake.events.length = 0;
  fake.tokenRequests = 0;
});

function config(overrides: Partial<GenesysConfig> = {}): GenesysConfig {
  return genesysTestConfig(fake.url, CLIENT_ID, CLIENT_SECRET, overrides);
}

function client(overrides: Partial<GenesysConfig> = {}) {
  const metrics = createMetrics();
  return { client: new GenesysClient({ config: config(overrides), metrics }), metrics };
}

function dm(text = 'Hi, where is my order?'): InboundMessage {
  return {
    kind: 'message',
    channel: 'instagram',
    accountId: '17841400000000042',
    customerId: CUSTOMER,
    dedupeKey: `instagram:mid.${Math.random()}`,
    timestamp: Date.UTC(2026, 2, 2, 9, 15, 30, 120),
    subtype: 'text',
    messageId: `mid.${Math.random().toString(36).slice(2)}`,
    text,
    attributes: {},
    opensWindow: true,
  };
}

const message = (text?: string) => buildGenesysInboundMessage(dm(text), { connectionId: 'acme-instagram', source: 'Instagram DM' });

const receipt = (status: 'Delivered' | 'Failed'): Models.OpenInboundNormalizedReceipt => ({
  id: 'b1c2d3e4f5a60718293a4b5c6d7e8f90',
  channel: { to: { id: CUSTOMER, idType: 'Opaque' }, time: '2026-03-02T09:20:01.500Z' },
  status,
  isFinalReceipt: true,
  ...(status === 'Failed' ? { reasons: [{ code: 'MessageExpired', message: 'Instagram 24h window closed' }] } : {}),
});

describe('GenesysClient', () => {
  it('delivers an inbound message and returns the Genesys message id', async () => {
    const { client: genesys } = client();
    const body = message();
    const result = await genesys.sendInboundMessage(INTEGRATION, body);
    expect(fake.messages).toHaveLength(1);
    expect(fake.messages[0]!.body).toEqual(body);
    expect(result.id).toBe(fake.messages[0]!.id);
    expect(result.channel?.messageId).toBe(body.channel.messageId);
  });

  it('returns the conversation id when asked to prefetch it', async () => {
    const { client: genesys } = client();
    const a = await genesys.sendInboundMessage(INTEGRATION, message('one'), { prefetchConversationId: true });
    const b = await genesys.sendInboundMessage(INTEGRATION, message('two'), { prefetchConversationId: true });
    expect(a.conversationId).toEqual(expect.any(String));
    expect(b.conversationId).toBe(a.conversationId);
  });

  it('uses one token for many calls', async () => {
    const { client: genesys } = client();
    for (let i = 0; i < 5; i++) await genesys.sendInboundMessage(INTEGRATION, message(`msg ${i}`));
    expect(fake.tokenRequests).toBe(1);
  });

  it('re-requests the token and retries once when Genesys answers 401', async () => {
    const { client: genesys, metrics } = client();
    await genesys.sendInboundMessage(INTEGRATION, message('warm up'));
    fake.failNext(1, { status: 401, body: { message: 'Invalid login credentials.', code: 'bad.credentials', status: 401 } });
    await genesys.sendInboundMessage(INTEGRATION, message('after 401'));
    expect(fake.tokenRequests).toBe(2);
    expect(fake.messages.map((m) => (m.body as { text: string }).text)).toEqual(['warm up', 'after 401']);
    const statuses = (await metrics.outboundRequests.get()).values
      .filter((v) => v.labels.operation === 'message')
      .map((v) => [v.labels.status, v.value]);
    expect(statuses).toEqual(expect.arrayContaining([['200', 2], ['401', 1]]));
  });

  it('renews an expired token that its own clock still thought valid', async () => {
    const shortLived = await startFakeGenesys({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      integrationIds: [INTEGRATION],
      tokenTtlSec: 1,
    });
    try {
      const frozen = () => 0;
      const genesys = new GenesysClient({
        config: config({ loginBaseUrl: shortLived.url, apiBaseUrl: shortLived.url }),
        clock: frozen,
      });
      await genesys.sendInboundMessage(INTEGRATION, message('before expiry'));
      await new Promise((r) => setTimeout(r, 1100));
      await genesys.sendInboundMessage(INTEGRATION, message('after expiry'));
      expect(shortLived.tokenRequests).toBe(2);
      expect(shortLived.messages).toHaveLength(2);
    } finally {
      await shortLived.close();
    }
  });

  it('gives up after one retry when a fresh token is refused too', async () => {
    const { client: genesys } = client();
    fake.failNext(2, { status: 401 });
    const err = await rejectionOf(genesys.sendInboundMessage(INTEGRATION, message()));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain('HTTP 401');
    expect(fake.tokenRequests).toBe(2);
    expect(fake.messages).toHaveLength(0);
  });

  it('classifies a 429 as retryable with Retry-After and the OAuth client pause key', async () => {
    const { client: genesys } = client();
    fake.failNext(1, { status: 429, headers: { 'Retry-After': '42' } });
    const err = await rejectionOf(genesys.sendInboundMessage(INTEGRATION, message()));
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).retryAfterMs).toBe(42_000);
    expect((err as RetryableError).pauseKey).toBe(`genesys:${CLIENT_ID}`);
    expect(err.message).toContain('too.many.requests.retry.after');
  });

  it.each([500, 502, 503, 504, 408])('classifies HTTP %i as retryable', async (status) => {
    const { client: genesys } = client();
    fake.failNext(1, { status });
    const err = await rejectionOf(genesys.sendInboundMessage(INTEGRATION, message()));
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).pauseKey).toBeUndefined();
  });

  it('classifies a request that times out as retryable and counts it as timeout', async () => {
    const { client: genesys, metrics } = client({ timeoutMs: 200 });
    await genesys.sendInboundMessage(INTEGRATION, message('warm up'));
    fake.failNext(1, 'timeout');
    const err = await rejectionOf(genesys.sendInboundMessage(INTEGRATION, message()));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain('timed out');
    const timeouts = (await metrics.outboundRequests.get()).values.find((v) => v.labels.status === 'timeout');
    expect(timeouts?.value).toBe(1);
  });

  it('classifies an unreachable API host as retryable', async () => {
    const tokens = new GenesysTokenProvider({ config: config() });
    const genesys = new GenesysClient({ config: config({ apiBaseUrl: 'http://127.0.0.1:9' }), tokens });
    await expect(genesys.sendInboundMessage(INTEGRATION, message())).rejects.toBeInstanceOf(RetryableError);
  });

  it("rejects a malformed message as permanent, carrying Genesys's contextId and message", async () => {
    const { client: genesys } = client();
    const body = message();
    delete body.text;
    const err = await rejectionOf(genesys.sendInboundMessage(INTEGRATION, body));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).reason).toBe('InvalidMessageStructure');
    expect(err.message).toMatch(/HTTP 400 bad\.request: should have required property 'content'.*\(contextId [0-9a-f-]{36}\)/);
  });

  it('rejects an unknown integration as permanent with a configuration hint', async () => {
    const { client: genesys } = client();
    const err = await rejectionOf(genesys.sendInboundMessage('no-such-integration', message()));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain('HTTP 404');
    expect(err.message).toContain('genesys.integrationId');
  });

  it.each(['Delivered', 'Failed'] as const)('reports a %s receipt', async (status) => {
    const { client: genesys } = client();
    const result = await genesys.sendReceipt(INTEGRATION, receipt(status));
    expect(fake.receipts).toHaveLength(1);
    expect(result.status).toBe(status);
  });

  it('treats a 2xx receipt answer whose status is Failed as a failure', async () => {
    const { client: genesys } = client();
    fake.failNext(1, {
      status: 200,
      body: { id: 'b1c2', type: 'Receipt', status: 'Failed', reasons: [{ code: 'UnknownMessage', message: 'no such message' }] },
    });
    const err = await rejectionOf(genesys.sendReceipt(INTEGRATION, receipt('Delivered')));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain('UnknownMessage');
  });

  it('accepts any 2xx, including an empty 202', async () => {
    const { client: genesys } = client();
    await genesys.sendInboundMessage(INTEGRATION, message('warm up'));
    fake.failNext(1, { status: 202 });
    await expect(genesys.sendInboundMessage(INTEGRATION, message())).resolves.toBeTypeOf('object');
  });

  it('never logs the token or the message text, even at debug level', async () => {
    const { logger, text } = capturedLogger('debug');
    const seen: string[] = [];
    const spying: HttpCall = (url, init, timeoutMs) => {
      const auth = init.headers?.authorization;
      if (auth?.startsWith('Bearer ')) seen.push(auth.slice(7));
      return httpCall(url, init, timeoutMs);
    };
    const genesys = new GenesysClient({ config: config(), logger, http: spying });
    await genesys.sendInboundMessage(INTEGRATION, message('my secret address is 1 Main St'));
    fake.failNext(1, { status: 400 });
    await genesys.sendInboundMessage(INTEGRATION, message('another private text')).catch(() => undefined);
    const log = text();
    expect(seen.length).toBeGreaterThan(0);
    expect(log).toContain('genesys.request_ok');
    expect(log).toContain('genesys.request_failed');
    for (const token of seen) expect(log).not.toContain(token);
    expect(log).not.toContain('1 Main St');
    expect(log).not.toContain('another private text');
    expect(log).not.toContain(CLIENT_SECRET);
  });
});

describe('classifyGenesysResponse', () => {
  const ctx = { operation: 'message', clientId: CLIENT_ID, now: Date.UTC(2026, 2, 2, 9, 0, 0) };
  const headers = (h: Record<string, string> = {}) => new Headers(h);

  it('reads Retry-After given as an HTTP date', () => {
    const err = classifyGenesysResponse(429, headers({ 'retry-after': 'Mon, 02 Mar 2026 09:00:30 GMT' }), '', ctx);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).retryAfterMs).toBe(30_000);
  });

  it('leaves retryAfterMs unset when a 429 has no usable Retry-After, but still pauses the client', () => {
    const err = classifyGenesysResponse(429, headers({ 'retry-after': 'soon' }), '', ctx) as RetryableError;
    expect(err.retryAfterMs).toBeUndefined();
    expect(err.pauseKey).toBe(`genesys:${CLIENT_ID}`);
  });

  it('names the missing permission on a 403', () => {
    const body = JSON.stringify({ message: 'Forbidden', code: 'missing.permissions', status: 403, contextId: 'ctx-403' });
    const err = classifyGenesysResponse(403, headers(), body, ctx);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain('conversation:message:receive');
    expect(err.message).toContain('ctx-403');
  });

  it('truncates a huge error body but keeps the contextId', () => {
    const body = JSON.stringify({ message: 'x'.repeat(5000), code: 'bad.request', status: 400, contextId: 'ctx-big' });
    const err = classifyGenesysResponse(400, headers(), body, ctx);
    expect(err.message.length).toBeLessThan(800);
    expect(err.message).toContain('ctx-big');
  });

  it('keeps a non-JSON error body as text', () => {
    const err = classifyGenesysResponse(502, headers(), '<html>Bad Gateway</html>', ctx);
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain('HTTP 502 <html>Bad Gateway</html>');
  });

  it('treats an unlisted 4xx as a permanent GeneralError', () => {
    const err = classifyGenesysResponse(409, headers(), '{}', ctx);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).reason).toBe('GeneralError');
  });
});
