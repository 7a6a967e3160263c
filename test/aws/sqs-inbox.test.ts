/**
 * The AWS profile's Inbox and JobSink (src/store/sqs/inbox.ts) against local SQS FIFO (fauxqs) and local
 * DynamoDB: what reaches the queue, what is dropped as a duplicate, and what a failed call leaves behind.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RetryableError } from '../../src/core/errors.js';
import type { NewJob } from '../../src/core/store.js';
import { silentLogger } from '../../src/logger.js';
import { CLAIM_HOLD_MS, DedupeClaims } from '../../src/store/dynamodb/claims.js';
import { createDynamoClient } from '../../src/store/dynamodb/client.js';
import type { DynamoDbOptions } from '../../src/store/dynamodb/options.js';
import { decodeJob, groupIdOf, jobIdOf } from '../../src/store/sqs/message.js';
import { AwsStore } from '../../src/store/sqs/open.js';
import type { SqsOptions } from '../../src/store/sqs/options.js';
import { DAY_MS, START } from '../contract/harness.js';
import { startFaultySqs, type FaultySqs } from './faulty-sqs.js';
import { CREDENTIALS, createQueues, createTable, localSqsClient, useLocalAws } from './local-aws.js';
import { drainQueue } from './sqs-event.js';

const RETENTION_MS = 7 * DAY_MS;

const local = useLocalAws();
let now: number;
let table: DynamoDbOptions;
let queues: SqsOptions;
let store: AwsStore;
const opened: { close(): Promise<void> }[] = [];

function open(overrides: { dynamodb?: Partial<DynamoDbOptions>; sqs?: Partial<SqsOptions> } = {}): AwsStore {
  const aws = new AwsStore({
    dynamodb: { ...table, ...overrides.dynamodb },
    sqs: { ...queues, ...overrides.sqs },
    dedupeRetentionMs: RETENTION_MS,
    logger: silentLogger,
    clock: () => now,
    credentials: CREDENTIALS,
  });
  opened.push(aws);
  return aws;
}

beforeEach(async () => {
  now = START;
  [table, queues] = await Promise.all([createTable(local.endpoints), createQueues(local.endpoints)]);
  store = open();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

function job(dedupeKey: string, conversationKey = 'conn:u1', payload: unknown = { dedupeKey }): NewJob {
  return { dedupeKey, conversationKey, kind: 'test', payload };
}

/** The jobs in the queue, in delivery order, as the worker would decode them. */
async function queued(queueUrl = queues.queueUrl) {
  const sqs = localSqsClient(local.endpoints);
  try {
    return (await drainQueue(sqs, queueUrl)).map((r) => {
      const decoded = decodeJob(r.body);
      if (!decoded.ok) throw new Error(decoded.error);
      return { ...decoded.job, groupId: r.attributes.MessageGroupId, deduplicationId: r.attributes.MessageDeduplicationId };
    });
  } finally {
    sqs.destroy();
  }
}

const keysOf = (jobs: { dedupeKey: string }[]) => jobs.map((j) => j.dedupeKey);

describe('the SQS FIFO inbox', () => {
  it('puts each new job in the queue with its conversation as the group and a hash of its dedupe key as deduplication id', async () => {
    const payload = { text: 'héllo 👋', nested: { n: 1, list: [true, null] } };
    expect(await store.accept({ jobs: [job('ig:m1', 'conn:u1', payload)], customerMessages: [] })).toEqual({ accepted: 1, duplicates: 0 });
    expect(await queued()).toEqual([
      {
        id: jobIdOf('ig:m1'),
        dedupeKey: 'ig:m1',
        conversationKey: 'conn:u1',
        kind: 'test',
        payload,
        createdAt: START,
        groupId: 'conn:u1',
        deduplicationId: jobIdOf('ig:m1'),
      },
    ]);
    expect(jobIdOf('ig:m1')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('groups a conversation key SQS would refuse as a group id under its hash, still one group per conversation', async () => {
    const long = `conn:${'x'.repeat(200)}`;
    const spaced = 'conn:user with spaces';
    await store.enqueue([job('a', long), job('b', long), job('c', spaced)]);
    const jobs = await queued();
    expect(jobs.map((j) => j.groupId)).toEqual(expect.arrayContaining([groupIdOf(long), groupIdOf(spaced)]));
    expect(groupIdOf(long)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(jobs.filter((j) => j.groupId === groupIdOf(long)).map((j) => j.dedupeKey)).toEqual(['a', 'b']);
  });

  it('drops a key repeated within one call and a redelivery a day later, long after SQS forgot it', async () => {
    expect(await store.accept({ jobs: [job('a'), job('a'), job('b')], customerMessages: [] })).toEqual({ accepted: 2, duplicates: 1 });
    now += DAY_MS;
    expect(await store.accept({ jobs: [job('a'), job('c')], customerMessages: [] })).toEqual({ accepted: 1, duplicates: 1 });
    expect(keysOf(await queued())).toEqual(['a', 'b', 'c']);
  });

  it('accepts an empty batch without calling anything', async () => {
    const down = open({ dynamodb: { endpoint: 'http://127.0.0.1:9' }, sqs: { endpoint: 'http://127.0.0.1:9' } });
    expect(await down.accept({ jobs: [], customerMessages: [] })).toEqual({ accepted: 0, duplicates: 0 });
  });

  it('takes a key as new again once the dedupe retention has passed', async () => {
    await store.enqueue([job('a')]);
    now += RETENTION_MS;
    expect(await store.enqueue([job('a')])).toEqual({ accepted: 1, duplicates: 0 });
  });

  it('records the customer-message facts, for a redelivery too', async () => {
    const facts = [{ conversationKey: 'conn:u1', at: START + 1000, threadId: 'thread-1' }];
    await store.accept({ jobs: [job('a')], customerMessages: facts });
    await store.accept({ jobs: [job('a')], customerMessages: facts });
    expect(await store.getConversation('conn:u1')).toEqual({ lastInboundAt: START + 1000, customerMessages: 2, repliesSinceCustomer: 0, threadId: 'thread-1' });
  });

  it('keeps the order of each conversation across many jobs of many conversations in one call', async () => {
    const jobs = Array.from({ length: 45 }, (_, i) => job(`k${i}`, `conn:u${i % 4}`));
    expect(await store.enqueue(jobs)).toEqual({ accepted: 45, duplicates: 0 });
    const got = await queued();
    expect(got).toHaveLength(45);
    for (let u = 0; u < 4; u++) {
      const expected = jobs.filter((j) => j.conversationKey === `conn:u${u}`).map((j) => j.dedupeKey);
      expect(keysOf(got.filter((j) => j.conversationKey === `conn:u${u}`))).toEqual(expected);
    }
  });

  it('sends jobs whose bodies together pass the 256 KB of one batch call', async () => {
    const big = 'x'.repeat(100 * 1024);
    const jobs = Array.from({ length: 6 }, (_, i) => job(`k${i}`, `conn:u${i}`, { big }));
    expect(await store.enqueue(jobs)).toEqual({ accepted: 6, duplicates: 0 });
    expect((await queued()).map((j) => j.dedupeKey).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
  });

  it('refuses a job too large for an SQS message before claiming anything', async () => {
    const huge = job('huge', 'conn:u1', { big: 'x'.repeat(256 * 1024) });
    await expect(store.enqueue([job('small'), huge])).rejects.toThrow(/larger than an SQS message may be/);
    expect(await store.enqueue([job('small')])).toEqual({ accepted: 1, duplicates: 0 });
  });

  describe('concurrent deliveries', () => {
    it('queues a message delivered twice at once exactly once, refusing the copy it cannot yet call a duplicate', async () => {
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => store.accept({ jobs: [job('ig:m1')], customerMessages: [] })));
      const accepted = outcomes.filter((o) => o.status === 'fulfilled' && o.value.accepted === 1);
      expect(accepted).toHaveLength(1);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(RetryableError);
        else if (o.value.accepted === 0) expect(o.value).toEqual({ accepted: 0, duplicates: 1 });
      }
      expect(keysOf(await queued())).toEqual(['ig:m1']);
      expect(await store.accept({ jobs: [job('ig:m1')], customerMessages: [] })).toEqual({ accepted: 0, duplicates: 1 });
    });

    it('refuses a key held by a delivery that died mid-call until its hold lapses, then queues it', async () => {
      const client = createDynamoClient(table, CREDENTIALS);
      const claims = new DedupeClaims({ client, tableName: table.tableName, clock: () => now, retentionMs: RETENTION_MS });
      await claims.claim('ig:m1', 'a call that died');
      client.destroy();
      await expect(store.enqueue([job('ig:m1'), job('ig:m2')])).rejects.toBeInstanceOf(RetryableError);
      expect(await queued()).toEqual([]);
      now += CLAIM_HOLD_MS;
      expect(await store.enqueue([job('ig:m1'), job('ig:m2')])).toEqual({ accepted: 2, duplicates: 0 });
      expect(keysOf(await queued())).toEqual(['ig:m1', 'ig:m2']);
    });
  });

  describe('failures', () => {
    let faulty: FaultySqs;
    beforeEach(async () => {
      faulty = await startFaultySqs(local.endpoints.sqs.endpoint);
    });
    afterEach(() => faulty.close());

    it('rejects when SQS cannot be reached, and takes the same jobs as new when they are delivered again', async () => {
      const down = open({ sqs: { endpoint: 'http://127.0.0.1:9', maxAttempts: 1 } });
      await expect(down.enqueue([job('a'), job('b', 'conn:u2')])).rejects.toThrow();
      expect(await store.enqueue([job('a'), job('b', 'conn:u2')])).toEqual({ accepted: 2, duplicates: 0 });
      expect(keysOf(await queued()).sort()).toEqual(['a', 'b']);
    });

    it('when one job is refused, sends nothing after it in its conversation, frees what was not sent and keeps what was', async () => {
      const flaky = open({ sqs: { endpoint: faulty.endpoint } });
      faulty.failEntries((body) => body.includes('"dedupeKey":"a2"'));
      const jobs = [job('a1', 'conn:A'), job('a2', 'conn:A'), job('a3', 'conn:A'), job('b1', 'conn:B'), job('b2', 'conn:B')];
      await expect(flaky.enqueue(jobs)).rejects.toThrow(/SQS refused 1 of \d+ messages: InternalError/);
      expect(keysOf(await queued()).sort()).toEqual(['a1', 'b1', 'b2']);

      faulty.failEntries(() => false);
      expect(await flaky.enqueue(jobs)).toEqual({ accepted: 2, duplicates: 3 });
      expect(keysOf(await queued())).toEqual(['a2', 'a3']);
    });

    it('rejects when DynamoDB cannot be reached, and sends nothing', async () => {
      const down = open({ dynamodb: { endpoint: 'http://127.0.0.1:9', maxAttempts: 1 } });
      await expect(down.accept({ jobs: [job('a')], customerMessages: [{ conversationKey: 'conn:u1', at: START }] })).rejects.toThrow();
      expect(await queued()).toEqual([]);
    });
  });
});
