/**
 * The three functions of the AWS profile (src/entry/lambda-handlers.ts) driven with the events AWS hands them:
 * API Gateway HTTP API (2.0) and REST API (1.0) events for the ingress, SQS events of the job queue for the worker,
 * and HTTP requests through a function URL in RESPONSE_STREAM mode for the media function. Local DynamoDB and
 * fauxqs underneath; Genesys and TikTok are their fakes.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, Context } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS } from '../../src/channels/index.js';
import { startFakeTikTok, type FakeTikTok } from '../../src/channels/tiktok/sandbox/fake-tiktok.js';
import { signTikTokBody } from '../../src/channels/tiktok/verify.js';
import { signMetaBody } from '../../src/channels/instagram/verify.js';
import type { ChannelModule } from '../../src/core/channel.js';
import type { MediaStream } from '../../src/core/media.js';
import { ingressHandler, workerHandler } from '../../src/entry/lambda-handlers.js';
import { signMediaToken } from '../../src/media/token.js';
import { startFakeGenesys, type FakeGenesys } from '../../src/sandbox/fake-genesys/index.js';
import { decodeJob } from '../../src/store/sqs/message.js';
import { TEST, rawTestConfig } from '../helpers.js';
import { startLocalAwsBridge, type LocalAwsBridge } from './aws-bridge.js';
import { httpApiEvent, lambdaContext, restApiEvent, type HttpRequestShape } from './lambda-events.js';
import { useLocalAws } from './local-aws.js';
import { drainQueue, receiveEvent, settle } from './sqs-event.js';

const local = useLocalAws();
const MEDIA_KEY = 'media-signing-key-for-the-lambda-tests-0123456789';
const TT = { id: 'acme-tiktok', appId: '7600000000000000042', appSecret: 'tiktok-app-secret-for-tests', businessId: '-000aBcD1234', accessToken: 'act.lambda', refreshToken: 'rft.lambda' };
const TT_INTEGRATION = '0a1b2c3d-4444-4222-8333-944455566677';
const BIG = 8 * 1024 * 1024;

/** Bytes a media source hands out as they are pulled, counting how many it has produced. */
function bigVideo() {
  const produced = { bytes: 0 };
  const chunk = 64 * 1024;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (produced.bytes >= BIG) return controller.close();
      controller.enqueue(new Uint8Array(chunk).fill(produced.bytes / chunk));
      produced.bytes += chunk;
    },
  });
  const stream: MediaStream = { contentType: 'video/mp4', contentLength: BIG, body };
  return { produced, stream };
}

let lastBig: ReturnType<typeof bigVideo> | undefined;
/** TikTok as registered, except that its media source serves `bigVideo()` for the reference { big: '1' }. */
const channels: ChannelModule[] = CHANNELS.map((channel) =>
  channel.name !== 'tiktok'
    ? channel
    : {
        ...channel,
        connect(connection, deps) {
          const clients = channel.connect(connection, deps);
          const media = clients.media!;
          return { ...clients, media: async (reference) => (reference.big ? (lastBig = bigVideo()).stream : media(reference)) };
        },
      },
) as ChannelModule[];

let genesys: FakeGenesys;
let tiktok: FakeTikTok;
let bridge: LocalAwsBridge;

beforeAll(async () => {
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId, TT_INTEGRATION] });
  tiktok = await startFakeTikTok({ appId: TT.appId, appSecret: TT.appSecret, businessId: TT.businessId, accessToken: TT.accessToken, refreshToken: TT.refreshToken });
  const raw = rawTestConfig({ genesysUrl: genesys.url, store: 'set by the AWS profile', mediaOrigins: [genesys.storageUrl, tiktok.url] });
  const connection = { channel: 'tiktok', ...TT, apiBaseUrl: tiktok.url, genesys: { integrationId: TT_INTEGRATION, webhookSecret: TEST.webhookSecret } };
  bridge = await startLocalAwsBridge(local.endpoints, {
    raw: { ...raw, server: { ...raw.server, mediaSigningKey: MEDIA_KEY }, connections: [...raw.connections, connection] },
    channels,
    poll: false,
    media: true,
  });
});
afterAll(async () => {
  await bridge?.close();
  await Promise.all([genesys?.close(), tiktok?.close()]);
});

/** hono types its events its own way; these are @types/aws-lambda's, as AWS documents them. */
type Ingress = (event: APIGatewayProxyEvent | APIGatewayProxyEventV2, context: Context) => Promise<{ statusCode: number; body: string; isBase64Encoded: boolean }>;
const ingress = () => ingressHandler(bridge.ingress) as unknown as Ingress;
const worker = () => workerHandler(bridge.worker);

/** A signed Instagram DM webhook as Meta sends it, with bytes of the test's choosing. */
function instagramPost(raw: Uint8Array | string, signature = signMetaBody(Buffer.from(raw), TEST.appSecret)): HttpRequestShape {
  return {
    method: 'POST',
    url: '/webhooks/instagram',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature, 'user-agent': 'facebookexternalua' },
    body: typeof raw === 'string' ? Buffer.from(raw) : raw,
  };
}

function instagramDm(text: string, customer = `99${Date.now()}${Math.floor(Math.random() * 1000)}`) {
  const mid = `aWdfZAG1faWQ${randomUUID()}`;
  const body = { object: 'instagram', entry: [{ id: TEST.accountId, time: Date.now(), messaging: [{ sender: { id: customer }, recipient: { id: TEST.accountId }, timestamp: Date.now(), message: { mid, text } }] }] };
  return { mid, customer, body };
}

/** Runs the worker over what is in the queue until it is empty, as the event source mapping would. */
async function runWorker(): Promise<void> {
  for (let event = await receiveEvent(bridge.sqs, bridge.queues.queueUrl); event.Records.length > 0; event = await receiveEvent(bridge.sqs, bridge.queues.queueUrl)) {
    await settle(bridge.sqs, bridge.queues.queueUrl, event, await worker()(event, lambdaContext('dmbridge-worker')));
  }
}

describe('the ingress function behind API Gateway', () => {
  it('answers a signed webhook 200 only once its job is in the queue, in the message group of its conversation', async () => {
    const dm = instagramDm('Where is my order?');
    const result = await ingress()(httpApiEvent(instagramPost(JSON.stringify(dm.body))), lambdaContext('dmbridge-ingress'));
    expect(result.statusCode).toBe(200);
    const [record, ...rest] = await drainQueue(bridge.sqs, bridge.queues.queueUrl);
    expect(rest).toEqual([]);
    expect(record!.attributes.MessageGroupId).toBe(`${TEST.connectionId}:${dm.customer}`);
    const decoded = decodeJob(record!.body);
    expect(decoded.ok && decoded.job.payload).toMatchObject({ event: { messageId: dm.mid } });
    expect(record!.attributes.MessageDeduplicationId).toBe(decoded.ok ? decoded.job.id : undefined);
  });

  it('checks the signature over the exact bytes, whether they come as text or base64, through an HTTP API or a REST API', async () => {
    const dm = instagramDm('Crème brûlée 🍮, ça va ?');
    const raw = Buffer.from(`${JSON.stringify(dm.body, null, 1).replaceAll('\n', '\r\n')}  \r\n`);
    const asBase64 = { ...httpApiEvent(instagramPost(raw)), body: raw.toString('base64'), isBase64Encoded: true };
    const events = [httpApiEvent(instagramPost(raw)), asBase64, restApiEvent(instagramPost(raw), { binaryMediaTypes: true }), restApiEvent(instagramPost(raw), { binaryMediaTypes: false })];
    for (const event of events) expect((await ingress()(event, lambdaContext('dmbridge-ingress'))).statusCode).toBe(200);
    expect(await drainQueue(bridge.sqs, bridge.queues.queueUrl)).toHaveLength(1); // four deliveries of one message
  });

  it('never refuses a valid signature over bytes that are not UTF-8, from an HTTP API or a REST API with binaryMediaTypes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        for (const event of [httpApiEvent(instagramPost(bytes)), restApiEvent(instagramPost(bytes), { binaryMediaTypes: true })]) {
          expect((await ingress()(event, lambdaContext('dmbridge-ingress'))).statusCode).not.toBe(401);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('fails a valid signature over bytes a REST API without binaryMediaTypes has changed: why they must come as base64', async () => {
    const dm = instagramDm('placeholder');
    const raw = Buffer.from(JSON.stringify(dm.body).replace('placeholder', 'caf\u00e9'), 'latin1'); // é as the one byte 0xe9: not UTF-8
    const answer = async (binaryMediaTypes: boolean) => {
      const result = await ingress()(restApiEvent(instagramPost(raw), { binaryMediaTypes }), lambdaContext('dmbridge-ingress'));
      return [result.statusCode, (JSON.parse(result.body) as { error: string }).error];
    };
    expect(await answer(false)).toEqual([401, 'DMB_ERR_SIGNATURE_INVALID']);
    // The same bytes as base64: the signature holds, and the body is judged for what it is.
    expect(await answer(true)).toEqual([400, 'DMB_ERR_MALFORMED_JSON']);
  });

  it("answers Meta's subscription handshake from the query string of either API", async () => {
    const handshake: HttpRequestShape = { method: 'GET', url: `/webhooks/instagram?hub.mode=subscribe&hub.verify_token=${TEST.verifyToken}&hub.challenge=1158201444`, headers: {} };
    for (const event of [httpApiEvent(handshake), restApiEvent(handshake, { binaryMediaTypes: true })]) {
      const result = await ingress()(event, lambdaContext('dmbridge-ingress'));
      expect([result.statusCode, result.isBase64Encoded ? Buffer.from(result.body, 'base64').toString() : result.body]).toEqual([200, '1158201444']);
    }
  });

  it('answers 503 while SQS does not take the job, and takes the redelivery once SQS does', async () => {
    const dm = instagramDm('Are you open today?');
    const event = httpApiEvent(instagramPost(JSON.stringify(dm.body)));
    bridge.sqsProxy.failEntries(() => true);
    try {
      expect((await ingress()(event, lambdaContext('dmbridge-ingress'))).statusCode).toBe(503);
    } finally {
      bridge.sqsProxy.failEntries(() => false);
    }
    expect(await drainQueue(bridge.sqs, bridge.queues.queueUrl)).toEqual([]);
    expect((await ingress()(event, lambdaContext('dmbridge-ingress'))).statusCode).toBe(200);
    expect(await drainQueue(bridge.sqs, bridge.queues.queueUrl)).toHaveLength(1);
  });
});

describe('the worker function fed by the job queue', () => {
  it('starts no job with less than queue.leaseMs of the invocation left: the batch is back at once, untouched', async () => {
    const dms = [instagramDm('first'), instagramDm('second')];
    for (const dm of dms) expect((await ingress()(httpApiEvent(instagramPost(JSON.stringify(dm.body))), lambdaContext('dmbridge-ingress'))).statusCode).toBe(200);
    const late = await receiveEvent(bridge.sqs, bridge.queues.queueUrl);
    expect(late.Records).toHaveLength(2);
    const leaseMs = bridge.worker.config.queue.leaseMs;
    const answer = await worker()(late, lambdaContext('dmbridge-worker', leaseMs - 1000));
    expect(answer.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(late.Records.map((r) => r.messageId).sort());
    const again = await receiveEvent(bridge.sqs, bridge.queues.queueUrl); // visible again now, not after the visibility timeout
    expect(again.Records.map((r) => r.body).sort()).toEqual(late.Records.map((r) => r.body).sort());
    expect(genesys.messages.filter((m) => dms.some((dm) => JSON.stringify(m.body).includes(dm.mid)))).toEqual([]);
    const answered = await worker()(again, lambdaContext('dmbridge-worker', leaseMs + 30_000));
    expect(answered.batchItemFailures).toEqual([]);
    await settle(bridge.sqs, bridge.queues.queueUrl, again, answered);
    expect(genesys.messages.filter((m) => dms.some((dm) => JSON.stringify(m.body).includes(dm.mid)))).toHaveLength(2);
  });
});

describe('the media function behind its function URL (RESPONSE_STREAM)', () => {
  it('serves the link the worker handed Genesys for a TikTok image, streamed from TikTok', async () => {
    const conversation = `c${randomUUID()}==`;
    tiktok.addConversation(conversation);
    const customer = `+Cust${Date.now()}Q`;
    const content = {
      from: 'customer.1', to: 'acme_store', from_user: { id: customer, role: 'personal_account' }, to_user: { id: TT.businessId, role: 'business_account' },
      conversation_id: conversation, message_id: `m${randomUUID()}==`, timestamp: Date.now(), type: 'image', image: { media_id: 'v10044g50000lambda' }, message_tag: { source: 'APP' },
    };
    const raw = JSON.stringify({ client_key: TT.appId, event: 'im_receive_msg', create_time: Math.floor(Date.now() / 1000), user_openid: TT.businessId, content: JSON.stringify(content) });
    const post: HttpRequestShape = { method: 'POST', url: '/webhooks/tiktok', headers: { 'content-type': 'application/json', 'tiktok-signature': signTikTokBody(raw, TT.appSecret, Math.floor(Date.now() / 1000)) }, body: Buffer.from(raw) };
    expect((await ingress()(httpApiEvent(post), lambdaContext('dmbridge-ingress'))).statusCode).toBe(200);
    await runWorker();
    type Attached = { channel: { from: { id: string } }; content?: Array<{ attachment: { url: string } }> };
    const message = genesys.messages.map((m) => m.body as Attached).find((b) => b.channel.from.id === customer);
    const url = message!.content![0]!.attachment.url;
    expect(url.startsWith(`${bridge.media!.url}/media/`)).toBe(true);
    const res = await fetch(url);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'image/jpeg']);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(tiktok.mediaBytes('v10044g50000lambda'));
  });

  it('streams media above the 6 MB a buffered response may carry, sending bytes before the platform has given them all', async () => {
    const token = signMediaToken({ connectionId: TT.id, reference: { big: '1' }, expiresAt: Date.now() + 60_000 }, Buffer.from(MEDIA_KEY));
    const res = await fetch(`${bridge.media!.url}/media/${token}`);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'video/mp4']);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const producedAtFirstByte = lastBig!.produced.bytes;
    const hash = createHash('sha256').update(first.value!);
    let received = first.value!.length;
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      hash.update(part.value);
      received += part.value.length;
    }
    expect(received).toBe(BIG);
    const expected = createHash('sha256');
    for (let i = 0; i < BIG / 65536; i++) expected.update(new Uint8Array(65536).fill(i));
    expect(hash.digest('hex')).toBe(expected.digest('hex'));
    expect(producedAtFirstByte).toBeLessThan(BIG / 2);
  });

  it('answers nothing but media links: a forged token is 403, a webhook sent to the function URL 404', async () => {
    const forged = signMediaToken({ connectionId: TT.id, reference: { big: '1' }, expiresAt: Date.now() + 60_000 }, Buffer.from('another-key-another-key-another-key-00'));
    expect((await fetch(`${bridge.media!.url}/media/${forged}`)).status).toBe(403);
    const webhook = await fetch(`${bridge.media!.url}/webhooks/instagram`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(webhook.status).toBe(404);
  });
});
