/**
 * The reliability scenarios that apply to the AWS profile, with the functions as Lambda runs them: the worker in
 * execution environments of its own (./lambda-process.ts: the built entry, its configuration read from a local
 * Secrets Manager at init, frozen between invocations), fed by the queue as the event source mapping feeds it; the
 * ingress invoked with HTTP API events by several environments at once. Local DynamoDB and fauxqs underneath, the
 * fake Genesys as the far side. Each scenario reports sent / delivered / duplicated / lost / out of order.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeMid, instagramDmWebhook } from '../../src/channels/instagram/sandbox/customer.js';
import { signMetaBody } from '../../src/channels/instagram/verify.js';
import { parseConfig } from '../../src/config/index.js';
import { FUNCTION_ENV } from '../../src/entry/lambda-env.js';
import { ingressHandler } from '../../src/entry/lambda-handlers.js';
import { composeLambdaBridge, type LambdaBridge } from '../../src/entry/lambda-init.js';
import { silentLogger } from '../../src/logger.js';
import { decodeJob } from '../../src/store/sqs/message.js';
import { startFakeGenesys, type FakeGenesys } from '../../src/sandbox/fake-genesys/index.js';
import { startFakeSecretsManager, type FakeSecretsManager } from './fake-secrets-manager.js';
import { TEST, eventually, rawTestConfig } from '../helpers.js';
import { pollQueue, type QueuePoller } from './aws-bridge.js';
import { httpApiEvent, lambdaContext } from './lambda-events.js';
import { LambdaFunctionProcess } from './lambda-process.js';
import { CREDENTIALS, REGION, createQueues, createTable, localSqsClient, useLocalAws } from './local-aws.js';

const local = useLocalAws();
/** The queue's visibility timeout: how long the messages of an invocation that died stay hidden. */
const VISIBILITY_SECONDS = 2;
const SECRET = 'dmbridge/reliability';

let sm: FakeSecretsManager;
let genesys: FakeGenesys;
let env: Record<string, string>;
let ingress: LambdaBridge[];
let worker: LambdaFunctionProcess;
let poller: QueuePoller | undefined;
let failedInvocations: number;
let queueUrl: string;
/** Messages an answer reported done that had not reached Genesys when it answered (must stay empty). */
let settledBeforeDone: string[];
const sqs = () => localSqsClient(local.endpoints);

beforeAll(async () => {
  sm = await startFakeSecretsManager({ region: REGION, ...CREDENTIALS, secrets: {} });
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId] });
});
afterAll(async () => {
  await Promise.all([sm?.close(), genesys?.close()]);
});

/** A fresh deployment per scenario: table, queues, the configuration secret, three ingress environments, the worker. */
beforeEach(async () => {
  const [table, queues] = await Promise.all([createTable(local.endpoints), createQueues(local.endpoints, VISIBILITY_SECONDS)]);
  const raw = rawTestConfig({ genesysUrl: genesys.url, store: 'aws' });
  // What the operator writes: the deployment's names are references to the function environment.
  const config = {
    ...raw,
    log: { level: 'warn' },
    queue: { ...raw.queue, maxAttempts: 12, backoffBaseMs: 200, backoffMaxMs: 1000 },
    dynamodb: { tableName: `\${${FUNCTION_ENV.tableName}}`, region: REGION, endpoint: local.endpoints.dynamodb.endpoint },
    sqs: { queueUrl: `\${${FUNCTION_ENV.queueUrl}}`, deadLetterQueueUrl: `\${${FUNCTION_ENV.deadLetterQueueUrl}}`, region: REGION, endpoint: local.endpoints.sqs.endpoint },
  };
  sm.putSecretValue(SECRET, JSON.stringify(config));
  env = {
    [FUNCTION_ENV.configSecretArn]: sm.arnOf(SECRET),
    [FUNCTION_ENV.tableName]: table.tableName,
    [FUNCTION_ENV.queueUrl]: queues.queueUrl,
    [FUNCTION_ENV.deadLetterQueueUrl]: queues.deadLetterQueueUrl,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
  };
  const parsed = parseConfig(JSON.stringify(config), env);
  ingress = [0, 1, 2].map(() => composeLambdaBridge(parsed, { logger: silentLogger, credentials: CREDENTIALS }));
  worker = new LambdaFunctionProcess('lambda-sqs.js', env);
  failedInvocations = 0;
  settledBeforeDone = [];
  queueUrl = queues.queueUrl;
});
/**
 * The event source mapping starts feeding the worker function. At each answer (the environment is frozen by then)
 * every message the answer does not report failed must already be at Genesys: nothing may be left to run after it.
 */
function startWorker(): void {
  poller = pollQueue(sqs(), queueUrl, (event, context) => worker.invoke<SQSBatchResponse>(event, context.getRemainingTimeInMillis()), {
    onFailedInvocation: () => failedInvocations++,
    onAnswer(event, response) {
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      const arrived = new Set(genesys.messages.map((r) => (r.body as { channel: { messageId: string } }).channel.messageId));
      for (const record of event.Records) {
        const decoded = decodeJob(record.body);
        const mid = decoded.ok ? (decoded.job.payload as { event?: { messageId?: string } }).event?.messageId : undefined;
        if (!failed.has(record.messageId) && mid !== undefined && !arrived.has(mid)) settledBeforeDone.push(mid);
      }
    },
  });
}

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
  expect(settledBeforeDone).toEqual([]);
  await worker?.close();
  await Promise.all((ingress ?? []).map((b) => b.store.close()));
});

interface Message {
  customer: string;
  index: number;
  mid: string;
  raw: string;
}

function conversations(customers: number, perCustomer: number): Message[][] {
  return Array.from({ length: customers }, (_, c) => {
    const customer = String(8_100_000 + c + Math.floor(Math.random() * 1e6) * 100);
    return Array.from({ length: perCustomer }, (_, index) => {
      const mid = fakeMid();
      return { customer, index, mid, raw: JSON.stringify(instagramDmWebhook({ mid, timestamp: 1_772_443_000_000 + index, text: `#${index}`, from: customer }, TEST.accountId)) };
    });
  });
}

/** One delivery as Meta makes it, through API Gateway to the ingress environment `n`. */
async function deliver(m: Message, n = 0): Promise<number> {
  const event = httpApiEvent({
    method: 'POST',
    url: '/webhooks/instagram',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(m.raw, TEST.appSecret) },
    body: Buffer.from(m.raw),
  });
  const handler = ingressHandler(ingress[n % ingress.length]!) as unknown as (e: unknown, c: unknown) => Promise<{ statusCode: number }>;
  return (await handler(event, lambdaContext('dmbridge-ingress', 29_000))).statusCode;
}

/** Each customer sends in order, the next message once the previous one was acknowledged. */
async function sendAll(convs: Message[][]): Promise<void> {
  await Promise.all(convs.map(async (list) => {
    for (const m of list) expect(await deliver(m)).toBe(200);
  }));
}

/** What reached Genesys, counted the way every reliability scenario counts it. */
function outcome(convs: Message[][]) {
  const sent = new Map(convs.flat().map((m) => [m.mid, m]));
  const arrivals = genesys.messages.map((r) => (r.body as { channel: { messageId: string } }).channel.messageId).filter((mid) => sent.has(mid));
  const firsts = [...new Set(arrivals)];
  const outOfOrder = convs.filter((list) => {
    const order = firsts.filter((mid) => sent.get(mid)!.customer === list[0]!.customer).map((mid) => sent.get(mid)!.index);
    return order.some((index, i) => index !== i);
  }).length;
  return { sent: sent.size, delivered: firsts.length, duplicated: arrivals.length - firsts.length, lost: sent.size - firsts.length, outOfOrder };
}

const allDelivered = (convs: Message[][], timeoutMs: number) => eventually(() => outcome(convs).delivered === convs.flat().length, timeoutMs, 50);

function report(scenario: string, o: ReturnType<typeof outcome>, startedAt: number, extra: string): void {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  console.log(`reliability (AWS) ${scenario}: ${o.sent} sent, ${o.delivered} delivered, ${o.duplicated} duplicated, ${o.lost} lost, ${o.outOfOrder} out of order; ${seconds} s; ${extra}`);
}

describe('reliability on the AWS profile', () => {
  it('a worker invocation killed mid-batch: its messages come back after the visibility timeout, none lost, each conversation in order', async () => {
    const convs = conversations(6, 4);
    const started = Date.now();
    await sendAll(convs);
    // One call of the first batch hangs (until the bridge's Genesys timeout), so the invocation is still running
    // when the others have reached Genesys: it is killed then, with nothing of its batch settled.
    genesys.failNext(1, 'timeout');
    startWorker();
    expect(await eventually(() => outcome(convs).delivered > 0, 15_000)).toBe(true);
    await worker.kill();
    const inFlight = convs.length; // a batch holds at most one message per conversation (one per group per receive)
    expect(await allDelivered(convs, 30_000)).toBe(true);
    const o = outcome(convs);
    report('worker killed mid-batch', o, started, `${worker.coldStarts} cold starts, ${failedInvocations} invocation lost`);
    expect(failedInvocations).toBe(1);
    expect(worker.coldStarts).toBe(2);
    expect(o).toMatchObject({ lost: 0, outOfOrder: 0 });
    expect(o.duplicated).toBeLessThanOrEqual(inFlight); // only what the killed invocation had sent, with the same messageId
  }, 60_000);

  it('a Genesys outage: messages wait in the queue with backoff and all arrive once it is over, in order, none twice', async () => {
    const convs = conversations(4, 3);
    const started = Date.now();
    const window = genesys.outage(3000, { status: 503 });
    await sendAll(convs);
    startWorker();
    expect(await allDelivered(convs, 30_000)).toBe(true);
    const o = outcome(convs);
    const refused = genesys.inboundRequests.filter((r) => r.status === 503 && r.at < window.until).length;
    report('Genesys outage of 3 s', o, started, `${refused} calls refused during the outage`);
    expect(refused).toBeGreaterThan(0);
    expect(o).toEqual({ sent: 12, delivered: 12, duplicated: 0, lost: 0, outOfOrder: 0 });
  }, 60_000);

  it('one webhook delivered 5 times at once to different ingress environments: one Genesys message', async () => {
    const convs = conversations(20, 2);
    const started = Date.now();
    startWorker();
    let refused = 0;
    /** One copy, delivered again until acknowledged: a copy that met another mid-claim is answered 503, as Meta would see. */
    const copy = async (m: Message, n: number) => {
      for (let attempt = 1; ; attempt++) {
        const status = await deliver(m, n);
        if (status === 200 || attempt === 20) return status;
        refused++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await Promise.all(
      convs.map(async (list, c) => {
        for (const m of list) expect(await Promise.all([0, 1, 2, 3, 4].map((k) => copy(m, c + k)))).toEqual([200, 200, 200, 200, 200]);
      }),
    );
    expect(await allDelivered(convs, 30_000)).toBe(true);
    const o = outcome(convs);
    report('5 concurrent deliveries of each webhook', o, started, `${refused} copies answered 503 and delivered again`);
    expect(o).toEqual({ sent: 40, delivered: 40, duplicated: 0, lost: 0, outOfOrder: 0 });
  }, 60_000);
});
