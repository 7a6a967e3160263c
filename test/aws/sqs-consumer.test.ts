/**
 * The SQS consumer (src/queue/sqs-consumer.ts) with the shared job runner (src/queue/run-job.ts), against
 * local SQS FIFO (fauxqs) and local DynamoDB. Batches are what Lambda's event source mapping would hand the
 * worker function: received messages turned into SQSEvent records, and the messages not reported failed
 * deleted afterwards. fauxqs hands out one message per group per receive, so batches holding several
 * messages of a group are built as fixtures from the encoded jobs.
 */
import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { PermanentError, RetryableError } from '../../src/core/errors.js';
import type { JobRoute } from '../../src/core/jobs.js';
import type { Job, NewJob } from '../../src/core/store.js';
import { runJob } from '../../src/queue/run-job.js';
import { consumeSqsBatch } from '../../src/queue/sqs-consumer.js';
import { encodeJob } from '../../src/store/sqs/message.js';
import { AwsStore } from '../../src/store/sqs/open.js';
import type { SqsOptions } from '../../src/store/sqs/options.js';
import { DAY_MS } from '../contract/harness.js';
import { capturedLogger } from '../helpers.js';
import { CREDENTIALS, createQueues, createTable, localSqsClient, REGION, useLocalAws } from './local-aws.js';
import { receiveEvent, settle, toRecord } from './sqs-event.js';

const MAX_ATTEMPTS = 3;
/** The queue's own visibility timeout: how long a message taken by a worker that died stays hidden. */
const VISIBILITY_SECONDS = 2;

const local = useLocalAws();

/** What a test job does when run, by its payload ('hang': its first run never returns). */
type Behaviour = 'ok' | 'retryable' | 'permanent' | 'rate-limited' | 'paused-account' | 'hang';
interface Payload {
  name: string;
  behaviour: Behaviour;
}

let queues: SqsOptions;
let store: AwsStore;
let sqs: SQSClient;
let log: ReturnType<typeof capturedLogger>;
let runs: { name: string; attempts: number }[];
let deadHook: string[];
let hung: (() => void)[];

const route: JobRoute = {
  kind: { kind: 'test', version: 1, check: (payload) => ({ ok: true, payload }) },
  handler: {
    pauseKeys: (payload) => ((payload as Payload).behaviour === 'paused-account' ? ['ig:acct'] : []),
    async run(payload, job) {
      const { name, behaviour } = payload as Payload;
      runs.push({ name, attempts: job.attempts });
      if (behaviour === 'retryable') throw new RetryableError('Genesys answered 503', { retryAfterMs: 1000 });
      if (behaviour === 'rate-limited') throw new RetryableError('rate limited', { retryAfterMs: 1000, pauseKey: 'ig:acct' });
      if (behaviour === 'permanent') throw new PermanentError('the customer blocked the account');
      if (behaviour === 'hang' && job.attempts === 0) await new Promise<void>((resolve) => hung.push(resolve));
    },
    async onDeadLetter(payload) {
      deadHook.push((payload as Payload).name);
    },
  },
};

const run = (job: Job) =>
  runJob(job, {
    routes: new Map([['test', route]]),
    pauses: store,
    clock: systemClock,
    maxAttempts: MAX_ATTEMPTS,
    backoff: { baseMs: 1000, maxMs: 1000, random: () => 0.999 },
    logger: log.logger,
  });

beforeEach(async () => {
  const [table, q] = await Promise.all([createTable(local.endpoints), createQueues(local.endpoints, VISIBILITY_SECONDS)]);
  queues = q;
  log = capturedLogger('debug');
  store = new AwsStore({ dynamodb: table, sqs: queues, dedupeRetentionMs: 7 * DAY_MS, logger: log.logger, credentials: CREDENTIALS });
  sqs = localSqsClient(local.endpoints);
  runs = [];
  deadHook = [];
  hung = [];
});
afterEach(async () => {
  for (const resolve of hung) resolve();
  sqs.destroy();
  await store.close();
});

function job(name: string, conversationKey: string, behaviour: Behaviour = 'ok'): NewJob {
  return { dedupeKey: `ig:${name}`, conversationKey, kind: 'test', payload: { name, behaviour } satisfies Payload };
}

/** One invocation of the worker function: receive a batch, consume it, let Lambda delete what succeeded. */
async function invoke(event?: SQSEvent) {
  const batch = event ?? (await receiveEvent(sqs, queues.queueUrl));
  const response = await consumeSqsBatch(batch, run, store.consumer);
  await settle(sqs, queues.queueUrl, batch, response);
  return { batch, failed: response.batchItemFailures.map((f) => nameOf(batch.Records.find((r) => r.messageId === f.itemIdentifier)!)) };
}

/** Invokes the worker as messages become visible, until `done` says so or 15 s pass. */
async function invokeUntil(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting; runs so far: ${JSON.stringify(runs)}`);
    const { batch } = await invoke();
    if (batch.Records.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function nameOf(record: SQSRecord): string {
  return (JSON.parse(record.body) as { payload: Payload }).payload.name;
}

/** A record the event source mapping could hand over behind a received head of the same group. */
function fixtureRecord(newJob: NewJob, sequence: number): SQSRecord {
  const message = encodeJob(newJob, Date.now());
  return toRecord(
    {
      MessageId: `fixture-${sequence}`,
      ReceiptHandle: `fixture-receipt-${sequence}`,
      Body: message.body,
      MD5OfBody: '',
      Attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'AROAEXAMPLE',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
        SequenceNumber: String(18_800_000_000_000_000_000 + sequence),
        MessageGroupId: message.groupId,
        MessageDeduplicationId: message.deduplicationId,
      },
    },
    queues.queueUrl,
  );
}

async function deadLettered() {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queues.deadLetterQueueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }),
  );
  return (Messages ?? []).map((m) => ({
    body: m.Body!,
    group: m.Attributes?.MessageGroupId,
    error: m.MessageAttributes?.['dmbridge.error']?.StringValue,
    attempts: Number(m.MessageAttributes?.['dmbridge.attempts']?.StringValue),
  }));
}

describe('the SQS consumer', () => {
  it('runs a job at its first attempt, and lets Lambda delete it', async () => {
    await store.enqueue([job('m1', 'conn:u1')]);
    const { failed } = await invoke();
    expect(failed).toEqual([]);
    expect(runs).toEqual([{ name: 'm1', attempts: 0 }]);
    expect((await receiveEvent(sqs, queues.queueUrl)).Records).toEqual([]);
  });

  it('retries a failed job after its backoff by hiding it, counting the attempt, and keeps it ahead of its conversation', async () => {
    await store.enqueue([job('m1', 'conn:u1', 'retryable'), job('m2', 'conn:u1')]);
    const first = await invoke();
    expect(first.failed).toEqual(['m1']);
    expect((await receiveEvent(sqs, queues.queueUrl)).Records).toEqual([]); // hidden, and its group with it
    await invokeUntil(() => runs.length >= 2);
    expect(runs.slice(0, 2)).toEqual([
      { name: 'm1', attempts: 0 },
      { name: 'm1', attempts: 1 },
    ]);
  });

  it('dead-letters a job at its last attempt to the FIFO dead-letter queue with its group and error, and moves on', async () => {
    await store.enqueue([job('m1', 'conn:u1', 'retryable'), job('m2', 'conn:u1')]);
    await invokeUntil(() => runs.some((r) => r.name === 'm2'));
    expect(runs).toEqual([
      { name: 'm1', attempts: 0 },
      { name: 'm1', attempts: 1 },
      { name: 'm1', attempts: 2 },
      { name: 'm2', attempts: 0 },
    ]);
    expect(deadHook).toEqual(['m1']);
    const dead = await deadLettered();
    expect(dead).toEqual([{ body: expect.any(String), group: 'conn:u1', error: 'RetryableError: Genesys answered 503', attempts: 3 }]);
    expect(JSON.parse(dead[0]!.body)).toMatchObject({ dedupeKey: 'ig:m1', conversationKey: 'conn:u1', payload: { name: 'm1', behaviour: 'retryable' } });
    expect(log.text()).toMatch(/"msg":"job dead-lettered"/);
  });

  it('dead-letters a permanent failure at once', async () => {
    await store.enqueue([job('m1', 'conn:u1', 'permanent')]);
    expect((await invoke()).failed).toEqual([]);
    expect(runs).toEqual([{ name: 'm1', attempts: 0 }]);
    expect(await deadLettered()).toMatchObject([{ group: 'conn:u1', error: 'PermanentError: the customer blocked the account', attempts: 1 }]);
  });

  it('runs a job redriven from the dead-letter queue afresh', async () => {
    await store.enqueue([job('m1', 'conn:u1', 'permanent')]);
    await invoke();
    const [dead] = await deadLettered();
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: dead!.body, MessageGroupId: dead!.group, MessageDeduplicationId: 'redrive-1' }));
    await invoke();
    expect(runs).toEqual([
      { name: 'm1', attempts: 0 },
      { name: 'm1', attempts: 0 },
    ]);
  });

  it('does not count the runs in which a job only waited for a paused account', async () => {
    await store.enqueue([job('m1', 'conn:u1', 'rate-limited')]);
    await invoke(); // m1 is refused and pauses the account
    await store.enqueue([job('m2', 'conn:u2', 'paused-account')]); // waits for the pause without running
    await invokeUntil(() => runs.some((r) => r.name === 'm2'));
    expect(runs.find((r) => r.name === 'm2')).toEqual({ name: 'm2', attempts: 0 });
    expect(log.text()).toMatch(/"msg":"job waits for a pause"/);
  });

  it('holds back only the conversation that failed: its later messages in the batch are not run and are reported failed', async () => {
    await store.enqueue([job('a1', 'conn:A', 'retryable'), job('b1', 'conn:B')]);
    const received = await receiveEvent(sqs, queues.queueUrl);
    expect(received.Records.map(nameOf).sort()).toEqual(['a1', 'b1']);
    const [a1, b1] = ['a1', 'b1'].map((name) => received.Records.find((r) => nameOf(r) === name)!);
    const batch: SQSEvent = {
      Records: [a1!, b1!, fixtureRecord(job('a2', 'conn:A'), 2), fixtureRecord(job('b2', 'conn:B'), 3), fixtureRecord(job('a3', 'conn:A'), 4)],
    };
    const response = await consumeSqsBatch(batch, run, store.consumer);
    expect(runs.map((r) => r.name).filter((name) => name.startsWith('a'))).toEqual(['a1']);
    expect(runs.map((r) => r.name).filter((name) => name.startsWith('b'))).toEqual(['b1', 'b2']);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([a1!.messageId, 'fixture-2', 'fixture-4']);
  });

  it('starts nothing more once the invocation nears its deadline: what is left is reported failed, visible again, in order', async () => {
    await store.enqueue([job('a1', 'conn:A'), job('a2', 'conn:A'), job('b1', 'conn:B')]);
    const received = await receiveEvent(sqs, queues.queueUrl); // a1 and b1: the head of each group
    const byName = (name: string) => received.Records.find((r) => nameOf(r) === name)!;
    const batch: SQSEvent = { Records: [byName('a1'), fixtureRecord(job('a2', 'conn:A'), 2), byName('b1')] };
    let startsLeft = 1; // time for one job only
    const response = await consumeSqsBatch(batch, run, store.consumer, { mayStart: () => startsLeft-- > 0 });
    await settle(sqs, queues.queueUrl, batch, response);
    expect(runs.map((r) => r.name)).toEqual(['a1']);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([byName('b1').messageId, 'fixture-2'].sort());
    const next = await receiveEvent(sqs, queues.queueUrl); // b1 at once, not after the visibility timeout; a2 now heads its group
    expect(next.Records.map(nameOf).sort()).toEqual(['a2', 'b1']);
    await invoke(next);
    expect(runs.map((r) => r.name).slice(1).sort()).toEqual(['a2', 'b1']);
    expect(log.text()).toMatch(/"msg":"invocation near its deadline: messages left for the next one"/);
  });

  it('dead-letters a message that is not a job, and goes on with the batch', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: '{"hello":"world"}', MessageGroupId: 'conn:u1', MessageDeduplicationId: 'x1' }));
    await store.enqueue([job('m1', 'conn:u2')]);
    const { failed } = await invoke();
    expect(failed).toEqual([]);
    expect(runs).toEqual([{ name: 'm1', attempts: 0 }]);
    expect(await deadLettered()).toMatchObject([{ body: '{"hello":"world"}', group: 'conn:u1', error: expect.stringMatching(/^PermanentError: the message body is not a dmbridge job/) }]);
  });

  it('after a worker died mid-batch, gets the messages back after the visibility timeout, in order, counting the lost run', async () => {
    await store.enqueue([job('m1', 'conn:u1', 'hang'), job('m2', 'conn:u1')]);
    const died = await receiveEvent(sqs, queues.queueUrl);
    void consumeSqsBatch(died, run, store.consumer); // runs m1, which never returns: the invocation is lost
    await invokeUntil(() => runs.length >= 2); // m1 again once its visibility timeout has passed
    hung.forEach((resolve) => resolve());
    await invokeUntil(() => runs.some((r) => r.name === 'm2'));
    expect(runs).toEqual([
      { name: 'm1', attempts: 0 },
      { name: 'm1', attempts: 1 },
      { name: 'm2', attempts: 0 },
    ]);
  });

  it('reports the message failed and keeps it when DynamoDB cannot be reached', async () => {
    const broken = new AwsStore({
      dynamodb: { tableName: 'dmbridge-missing', region: REGION, endpoint: 'http://127.0.0.1:9', requestTimeoutMs: 500, maxAttempts: 1 },
      sqs: queues,
      dedupeRetentionMs: DAY_MS,
      logger: log.logger,
      credentials: CREDENTIALS,
    });
    await store.enqueue([job('m1', 'conn:u1')]);
    const batch = await receiveEvent(sqs, queues.queueUrl);
    const response = await consumeSqsBatch(batch, run, broken.consumer);
    await broken.close();
    expect(response.batchItemFailures).toHaveLength(1);
    expect(runs).toEqual([]);
    expect(await deadLettered()).toEqual([]);
    expect(log.text()).toMatch(/"msg":"job could not be settled; it runs again after its visibility timeout"/);
  });
});
