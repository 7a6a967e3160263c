/**
 * The SQS FIFO counterpart of the Node worker's lease-and-settle: given one batch of an SQS event source
 * mapping, runs each job and applies its Decision (src/queue/outcome.ts).
 *
 * - Lease = the message in flight. Lambda deletes every message the response does not list as failed, so
 *   `complete` is a success. https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 * - `retry`: the message's visibility becomes the delay and it is reported failed; it stays at the head of its
 *   group, which SQS holds back while it is invisible. FIFO queues refuse per-message delays, so this is the
 *   backoff. https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
 * - `dead`: the message goes to the FIFO dead-letter queue with its group and error, and is reported a success
 *   (so deleted): the conversation moves on. The queue's own maxReceiveCount is only a backstop.
 * - Attempts are counted in DynamoDB (src/store/dynamodb/attempts.ts), not from ApproximateReceiveCount.
 * - Groups run side by side, the messages of one group in order. After a group's first failure its later
 *   messages in the batch are not run and are reported failed, so the failure holds back only its own
 *   conversation; they are made visible again at once so they do not wait out the queue's visibility timeout
 *   (the group stays held by its invisible head).
 * - A message is started only while `mayStart()` says so (the invocation is far enough from its deadline):
 *   an invocation that times out settles nothing, so its finished jobs would run again. The messages not
 *   started are reported failed and made visible again, still in order, for the next invocation.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Job } from '../core/store.js';
import type { Metrics } from '../metrics.js';
import { decodeJob } from '../store/sqs/message.js';
import type { SqsConsumerOptions } from '../store/sqs/open.js';
import { describeError, type Decision } from './outcome.js';

/**
 * A visibility timeout may reach 12 hours from the receive, which happened a little before this invocation; a
 * longer delay (only a long pause asks for one) brings the message back earlier, to wait again.
 */
const MAX_VISIBILITY_SECONDS = 12 * 3600 - 15 * 60;

/** Longest error text kept with a dead-lettered message (its attributes count toward the 256 KB limit). */
const MAX_ERROR_CHARS = 4000;

type Outcome = 'done' | 'failed';

export interface ConsumeOptions {
  /** Counts settled jobs in `dmbridge_jobs_total` and their latency, as the Node worker does. */
  metrics?: Metrics;
  /** Asked before each message: false once the invocation is too close to its deadline to run another job. */
  mayStart?: () => boolean;
}

type Consumer = SqsConsumerOptions & ConsumeOptions;

export async function consumeSqsBatch(
  event: SQSEvent,
  run: (job: Job) => Promise<Decision>,
  queue: SqsConsumerOptions,
  options: ConsumeOptions = {},
): Promise<SQSBatchResponse> {
  const opts: Consumer = { ...queue, ...options };
  const groups = new Map<string, SQSRecord[]>();
  for (const record of event.Records) {
    const groupId = record.attributes.MessageGroupId ?? record.messageId;
    groups.set(groupId, [...(groups.get(groupId) ?? []), record]);
  }
  const failed = (await Promise.all([...groups.values()].map((records) => consumeGroup(records, run, opts)))).flat();
  return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
}

/** Returns the records to report failed: the first failure (or the first not started) and every record after it. */
async function consumeGroup(records: SQSRecord[], run: (job: Job) => Promise<Decision>, opts: Consumer): Promise<SQSRecord[]> {
  for (const [i, record] of records.entries()) {
    if (opts.mayStart && !opts.mayStart()) {
      const held = records.slice(i);
      opts.logger.warn({ messages: held.length }, 'invocation near its deadline: messages left for the next one');
      await showAgain(held, opts);
      return held;
    }
    if ((await consumeRecord(record, run, opts)) === 'done') continue;
    const held = records.slice(i + 1);
    await showAgain(held, opts);
    return [record, ...held];
  }
  return [];
}

async function consumeRecord(record: SQSRecord, run: (job: Job) => Promise<Decision>, opts: Consumer): Promise<Outcome> {
  const decoded = decodeJob(record.body);
  const log = opts.logger.child({ messageId: record.messageId, ...(decoded.ok ? { jobId: decoded.job.id, kind: decoded.job.kind } : {}) });
  try {
    if (!decoded.ok) {
      await deadLetter(record, `PermanentError: ${decoded.error}`, 0, opts);
      log.error({ error: decoded.error }, 'message dead-lettered: not a job');
      return 'done';
    }
    const attempts = await opts.attempts.countRun(decoded.job.id);
    const job: Job = { ...decoded.job, attempts };
    const decision = await run(job);
    switch (decision.action) {
      case 'complete':
        opts.metrics?.jobs.inc({ kind: job.kind, outcome: 'done' });
        opts.metrics?.jobLatency.observe({ kind: job.kind }, Math.max(0, opts.clock() - job.createdAt) / 1000);
        return 'done';
      case 'retry': {
        if (!decision.countAttempt) await opts.attempts.uncountRun(job.id);
        const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil((decision.runAt - opts.clock()) / 1000)));
        await opts.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: opts.queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: seconds }));
        const fields = { err: decision.error, attempts: attempts + (decision.countAttempt ? 1 : 0), retryAt: new Date(decision.runAt).toISOString() };
        if (!decision.countAttempt) log.info(fields, 'job waits for a pause');
        else if (decision.unexpected) log.error(fields, 'job failed unexpectedly; will retry');
        else log.warn(fields, 'job failed; will retry');
        opts.metrics?.jobs.inc({ kind: job.kind, outcome: decision.countAttempt ? 'retry' : 'paused' });
        return 'failed';
      }
      case 'dead':
        await deadLetter(record, describeError(decision.error), attempts + 1, opts);
        log.error({ err: decision.error, attempts: attempts + 1 }, 'job dead-lettered');
        opts.metrics?.jobs.inc({ kind: job.kind, outcome: 'dead' });
        await opts.attempts.forget(job.id).catch((err: unknown) => log.warn({ err }, 'attempt counter of a dead-lettered job not removed'));
        return 'done';
    }
  } catch (err) {
    // A store or queue call failed: the message comes back after the queue's visibility timeout.
    log.error({ err }, 'job could not be settled; it runs again after its visibility timeout');
    return 'failed';
  }
}

/** The body goes unchanged, so a redrive from the dead-letter queue runs the same job again. */
async function deadLetter(record: SQSRecord, error: string, attempts: number, opts: SqsConsumerOptions): Promise<void> {
  await opts.sqs.send(
    new SendMessageCommand({
      QueueUrl: opts.deadLetterQueueUrl,
      MessageBody: record.body,
      MessageGroupId: record.attributes.MessageGroupId ?? 'dmbridge.no-group',
      // Random: a job that dies again after a redrive must not be dropped as a repeat within SQS's 5 minutes.
      MessageDeduplicationId: randomUUID(),
      MessageAttributes: {
        'dmbridge.error': { DataType: 'String', StringValue: error.slice(0, MAX_ERROR_CHARS) },
        'dmbridge.attempts': { DataType: 'Number', StringValue: String(attempts) },
        'dmbridge.failedAt': { DataType: 'Number', StringValue: String(opts.clock()) },
      },
    }),
  );
}

/** Best effort: if this fails they come back after the queue's visibility timeout, still in order. */
async function showAgain(records: SQSRecord[], opts: SqsConsumerOptions): Promise<void> {
  for (let i = 0; i < records.length; i += 10) {
    const entries = records.slice(i, i + 10).map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle, VisibilityTimeout: 0 }));
    try {
      const answer = await opts.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: opts.queueUrl, Entries: entries }));
      if (answer.Failed?.length) opts.logger.warn({ failed: answer.Failed.length, code: answer.Failed[0]!.Code }, 'held-back messages not made visible again');
    } catch (err) {
      opts.logger.warn({ err }, 'held-back messages not made visible again');
    }
  }
}
