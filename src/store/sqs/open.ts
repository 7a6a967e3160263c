/**
 * The AWS profile's store: the jobs in SQS FIFO, everything else in one DynamoDB table. It has every role the
 * bridge's intakes and job handlers use; there is no LeasedQueue (the worker function is fed by the queue, see
 * src/queue/sqs-consumer.ts) and no DeadLetters (the dead-letter queue is an SQS queue, redriven from the AWS console).
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import type { ConversationState } from '../../core/conversation.js';
import type { Conversations, EnqueueResult, Inbox, InboxBatch, JobSink, Locks, Maintenance, NewJob, Pauses, Records } from '../../core/store.js';
import type { Logger } from '../../logger.js';
import { AttemptCounters } from '../dynamodb/attempts.js';
import { DedupeClaims } from '../dynamodb/claims.js';
import { createDynamoClient } from '../dynamodb/client.js';
import type { DynamoDbOptions } from '../dynamodb/options.js';
import { DynamoStore } from '../dynamodb/store.js';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from './client.js';
import { SqsInbox } from './inbox.js';
import type { SqsOptions } from './options.js';

/** What the SQS consumer (src/queue/sqs-consumer.ts) needs to apply decisions to queue messages. */
export interface SqsConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  deadLetterQueueUrl: string;
  attempts: AttemptCounters;
  clock: Clock;
  logger: Logger;
}

export interface AwsStoreOptions {
  dynamodb: DynamoDbOptions;
  sqs: SqsOptions;
  /** How long a dedupe key is remembered (the configuration's dedupe retention). */
  dedupeRetentionMs: number;
  logger: Logger;
  clock?: Clock;
  /** Only for local servers: on AWS the function's role provides them. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export class AwsStore implements Inbox, JobSink, Conversations, Records, Locks, Pauses, Maintenance {
  /** What the worker function's consumer needs besides the function that runs a job. */
  readonly consumer: SqsConsumerOptions;
  private readonly state: DynamoStore;
  private readonly inbox: SqsInbox;
  private readonly destroySqs: () => void;

  constructor(opts: AwsStoreOptions) {
    const clock = opts.clock ?? systemClock;
    const client = createDynamoClient(opts.dynamodb, opts.credentials);
    const sqs = createSqsClient(opts.sqs, opts.credentials);
    const table = { client, tableName: opts.dynamodb.tableName, clock };
    this.state = new DynamoStore(table);
    const claims = new DedupeClaims({ ...table, retentionMs: opts.dedupeRetentionMs });
    this.inbox = new SqsInbox({ sqs, queueUrl: opts.sqs.queueUrl, claims, conversations: this.state, clock, logger: opts.logger });
    const attempts = new AttemptCounters({ ...table, retentionMs: opts.dedupeRetentionMs });
    this.consumer = { sqs, queueUrl: opts.sqs.queueUrl, deadLetterQueueUrl: opts.sqs.deadLetterQueueUrl, attempts, clock, logger: opts.logger };
    this.destroySqs = () => sqs.destroy();
  }

  accept(batch: InboxBatch): Promise<EnqueueResult> {
    return this.inbox.accept(batch);
  }
  enqueue(jobs: NewJob[]): Promise<EnqueueResult> {
    return this.inbox.enqueue(jobs);
  }
  recordCustomerMessage(conversationKey: string, at: number, threadId?: string): Promise<void> {
    return this.state.recordCustomerMessage(conversationKey, at, threadId);
  }
  recordReplySent(conversationKey: string): Promise<void> {
    return this.state.recordReplySent(conversationKey);
  }
  getConversation(conversationKey: string): Promise<ConversationState> {
    return this.state.getConversation(conversationKey);
  }
  putRecord(namespace: string, key: string, value: unknown, expiresAt: number): Promise<void> {
    return this.state.putRecord(namespace, key, value, expiresAt);
  }
  getRecord<T>(namespace: string, key: string): Promise<T | undefined> {
    return this.state.getRecord<T>(namespace, key);
  }
  acquireLock(name: string, owner: string, until: number): Promise<boolean> {
    return this.state.acquireLock(name, owner, until);
  }
  releaseLock(name: string, owner: string): Promise<void> {
    return this.state.releaseLock(name, owner);
  }
  pause(key: string, until: number): Promise<void> {
    return this.state.pause(key, until);
  }
  pausedUntil(key: string): Promise<number> {
    return this.state.pausedUntil(key);
  }
  checkIntegrity(): Promise<string[]> {
    return this.state.checkIntegrity();
  }

  purge(opts: { dedupeBefore: number; doneBefore: number }): Promise<{ dedupeKeys: number; jobs: number }> {
    return this.state.purge(opts);
  }
  async close(): Promise<void> {
    await this.state.close();
    this.destroySqs();
  }
}
