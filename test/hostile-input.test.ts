/**
 * Hostile input on every webhook route: each gets a clear 4xx, stores nothing, and the process stays up and
 * keeps serving.
 */
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signMetaBody } from '../src/channels/instagram/verify.js';
import { signTikTokBody } from '../src/channels/tiktok/verify.js';
import { configSchema } from '../src/config/index.js';
import { startServer, type RunningServer } from '../src/entry/server.js';
import { signGenesysBody } from '../src/genesys/webhook/verify.js';
import { silentLogger } from '../src/logger.js';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { TEST, rawTestConfig, tempDir } from './helpers.js';

let genesys: FakeGenesys;
let bridge: RunningServer;
const dir = tempDir();

beforeAll(async () => {
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId] });
  const raw = rawTestConfig({ genesysUrl: genesys.url, store: `sqlite:${dir.path}/hostile.db` });
  const tiktok = {
    id: 'acme-tiktok',
    channel: 'tiktok',
    businessId: TIKTOK_BUSINESS,
    appId: '7600000000000000042',
    appSecret: TIKTOK_SECRET,
    accessToken: 'act.x',
    refreshToken: 'rft.x',
    apiBaseUrl: 'http://127.0.0.1:9/open_api/v1.3',
    genesys: { integrationId: TEST.integrationId, webhookSecret: TEST.webhookSecret },
  };
  const config = configSchema.parse({
    ...raw,
    server: { ...raw.server, requestTimeoutMs: 1500, publicUrl: 'http://127.0.0.1:1' },
    connections: [...raw.connections, tiktok],
  });
  bridge = await startServer({ config, logger: silentLogger });
});
afterAll(async () => {
  await bridge?.close();
  await genesys?.close();
  dir.cleanup();
});

const TIKTOK_SECRET = 'tiktok-app-secret-for-hostile-tests';
const TIKTOK_BUSINESS = '-000aBcD1234';

interface Route {
  name: string;
  path: string;
  sign: (raw: string) => Record<string, string>;
  /** Headers that look like a signature but are not valid ones. */
  forged: Array<Record<string, string>>;
  /** The platform documents no Content-Type: a signed body is accepted whatever it says (issue 14, point 7). */
  anyContentType?: true;
}
const ROUTES: Route[] = [
  {
    name: 'Instagram',
    path: '/webhooks/instagram',
    sign: (raw) => ({ 'x-hub-signature-256': signMetaBody(raw, TEST.appSecret) }),
    forged: [{ 'x-hub-signature-256': 'sha256=' + 'a'.repeat(64) }, { 'x-hub-signature-256': 'md5=abc' }],
  },
  {
    name: 'Genesys',
    path: `/webhooks/genesys/${TEST.connectionId}`,
    sign: (raw) => ({ 'x-hub-signature-256': signGenesysBody(raw, TEST.webhookSecret) }),
    forged: [{ 'x-hub-signature-256': 'sha256=' + 'a'.repeat(64) }, { 'x-hub-signature-256': 'md5=abc' }],
  },
  {
    name: 'TikTok',
    path: '/webhooks/tiktok',
    sign: (raw) => ({ 'tiktok-signature': signTikTokBody(raw, TIKTOK_SECRET, Math.floor(Date.now() / 1000)) }),
    forged: [
      { 'tiktok-signature': `t=${Math.floor(Date.now() / 1000)},s=${'a'.repeat(64)}` },
      { 'tiktok-signature': 's=abc' },
      { 'tiktok-signature': `t=1,s=${'b'.repeat(64)}` },
    ],
    anyContentType: true,
  },
];

async function storedJobs(): Promise<number> {
  const s = await bridge.bridge.store.stats();
  return s.pending + s.leased + s.done + s.dead;
}

async function post(path: string, body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; error?: string }> {
  const res = await fetch(`${bridge.url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const text = await res.text();
  let error: string | undefined;
  try {
    error = (JSON.parse(text) as { error?: string }).error;
  } catch {
    // not JSON
  }
  return { status: res.status, ...(error ? { error } : {}) };
}

async function stillServing(): Promise<void> {
  expect((await fetch(`${bridge.url}/healthz`)).status).toBe(200);
}

describe.each(ROUTES)('hostile input on the $name route', (route) => {
  const json = { 'content-type': 'application/json' };

  it('rejects a missing signature, a forged one and one for another body with 401, storing nothing', async () => {
    const before = await storedJobs();
    const raw = JSON.stringify({ hello: 'world' });
    expect((await post(route.path, raw, json)).status).toBe(401);
    for (const headers of route.forged) expect((await post(route.path, raw, { ...json, ...headers })).status).toBe(401);
    expect((await post(route.path, raw, { ...json, ...route.sign(raw + ' ') })).status).toBe(401);
    expect(await storedJobs()).toBe(before);
  });

  it(route.anyContentType ? 'accepts a signed body whatever its content type' : 'rejects wrong content types with 415', async () => {
    const raw = JSON.stringify({ a: 1 });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
      expect((await post(route.path, raw, { 'content-type': type, ...route.sign(raw) })).status).toBe(route.anyContentType ? 200 : 415);
    }
  });

  it('rejects truncated, invalid and non-UTF-8 JSON that is correctly signed with 400', async () => {
    for (const raw of ['{"object":"instagram","entry":[', '{"a":}', 'null,', '\u0000\u0001', '{"a":"\\ud800"'] as const) {
      const res = await post(route.path, raw, { ...json, ...route.sign(raw) });
      expect(res).toEqual({ status: 400, error: 'DMB_ERR_MALFORMED_JSON' });
    }
    const latin1 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]); // {"a":"é"} in Latin-1
    const res = await post(route.path, latin1, { ...json, ...route.sign(latin1.toString('latin1')) });
    expect([400, 401]).toContain(res.status);
    await stillServing();
  });

  it('survives deeply nested JSON', async () => {
    const raw = '['.repeat(100_000) + ']'.repeat(100_000);
    const res = await post(route.path, raw, { ...json, ...route.sign(raw) });
    expect(res.status).toBeLessThan(500);
    const deepObject = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000);
    expect((await post(route.path, deepObject, { ...json, ...route.sign(deepObject) })).status).toBeLessThan(500);
    await stillServing();
  });

  it('answers 413 to a 10 MB body and keeps serving', async () => {
    const raw = JSON.stringify({ pad: 'x'.repeat(10 * 1024 * 1024) });
    const res = await post(route.path, raw, { ...json, ...route.sign(raw) });
    expect(res).toEqual({ status: 413, error: 'DMB_ERR_BODY_TOO_LARGE' });
    await stillServing();
  });

  it('acknowledges well-formed JSON of unknown shape without crashing (signed bodies only)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        const raw = JSON.stringify(value) ?? 'null';
        const res = await post(route.path, raw, { ...json, ...route.sign(raw) });
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 60 },
    );
    await stillServing();
  });
});

/** POSTs `chunks` with Transfer-Encoding: chunked (no Content-Length), as a sender that streams would. */
function postChunked(path: string, chunks: string[], headers: Record<string, string>): Promise<number> {
  const url = new URL(path, bridge.url);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // The bridge may answer 413 and close before the whole body is written.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('hostile input, Instagram specifics', () => {
  it('counts a chunked body (no Content-Length) while it streams: 413 past the limit, stored under it', async () => {
    const huge = JSON.stringify({ pad: 'x'.repeat(10 * 1024 * 1024) });
    const pieces = huge.match(/[\s\S]{1,65536}/g)!;
    const sign = (raw: string) => ({ 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, TEST.appSecret) });
    expect(await postChunked('/webhooks/instagram', pieces, sign(huge))).toBe(413);
    await stillServing();

    const before = await storedJobs();
    const raw = JSON.stringify(instagramDmWebhook({ mid: fakeMid(), timestamp: Date.now(), text: 'sent in chunks' }, TEST.accountId));
    expect(await postChunked('/webhooks/instagram', [raw.slice(0, 40), raw.slice(40)], sign(raw))).toBe(200);
    expect((await storedJobs()) - before).toBe(1);
  });


  it('takes a batch of 1,000 messages in one delivery, storing every one', async () => {
    const before = await storedJobs();
    const entry = Array.from({ length: 10 }, () => ({
      id: TEST.accountId,
      time: Date.now(),
      messaging: Array.from({ length: 100 }, (_, i) => ({
        sender: { id: String(9_000_000 + i) },
        recipient: { id: TEST.accountId },
        timestamp: Date.now(),
        message: { mid: fakeMid(), text: `batch ${i}` },
      })),
    }));
    const raw = JSON.stringify({ object: 'instagram', entry });
    const res = await post('/webhooks/instagram', raw, { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, TEST.appSecret) });
    expect(res.status).toBe(200);
    expect((await storedJobs()) - before).toBe(1000);
  });

  it('ignores unknown fields and kinds without failing the rest of the delivery', async () => {
    const mid = fakeMid();
    const body = instagramDmWebhook({ mid, timestamp: Date.now(), text: 'with extras' }, TEST.accountId) as any;
    body.surprise = { nested: [1, 2, 3] };
    body.entry[0].messaging.unshift({ sender: { id: '1' }, recipient: { id: TEST.accountId }, timestamp: Date.now(), hologram: { x: 1 } });
    body.entry[0].messaging[1].message.brand_new_flag = true;
    const raw = JSON.stringify(body);
    const before = await storedJobs();
    expect((await post('/webhooks/instagram', raw, { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, TEST.appSecret) })).status).toBe(200);
    expect((await storedJobs()) - before).toBe(1);
  });
});

describe('slow clients', () => {
  it('cuts off a client that trickles its body, while others are served', async () => {
    const { port } = new URL(bridge.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('POST /webhooks/instagram HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"obj');
    const closed = new Promise<string>((resolve) => {
      let data = '';
      socket.on('data', (c: Buffer) => (data += c.toString()));
      socket.on('close', () => resolve(data));
    });
    const trickle = setInterval(() => socket.write('e'), 200);
    try {
      await stillServing();
      const answer = await closed;
      expect(answer === '' || answer.startsWith('HTTP/1.1 408')).toBe(true);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    await stillServing();
  }, 10_000);
});

describe('hostile input on the media route', () => {
  it('refuses made-up, truncated and tampered tokens without calling anyone', async () => {
    for (const token of ['x', 'a.b', 'a.b.c', '%00', 'eyJjIjoiYSJ9.' + 'A'.repeat(43), '.'.repeat(1000)]) {
      const res = await fetch(`${bridge.url}/media/${encodeURIComponent(token)}`);
      expect([403, 404]).toContain(res.status);
    }
    await stillServing();
  });
});
