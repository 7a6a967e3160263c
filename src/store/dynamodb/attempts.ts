/**
 * Attempts per job for the SQS consumer. SQS's own ApproximateReceiveCount also counts the receives in which
 * a job only waited for a pause, or waited behind a failing job of its conversation, so it cannot say when a
 * job has used up its attempts. This counter can: a run is counted before it starts (a run that kills its
 * worker still counts, as a lost lease does on the SQL engines) and given back when the job only waited.
 */
import { DeleteItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clock } from '../../core/clock.js';
import { itemKey, keyOf, n, names, readNumber } from './items.js';
import { TABLE_TTL_ATTRIBUTE, ttlSeconds } from './table.js';

export interface AttemptCountersOptions {
  client: DynamoDBClient;
  tableName: string;
  clock: Clock;
  /** A counter left by a job that was never settled goes after this long (the dedupe retention). */
  retentionMs: number;
}

export class AttemptCounters {
  constructor(private readonly opts: AttemptCountersOptions) {}

  /** Counts the run about to start; returns the attempts made before it. */
  async countRun(jobId: string): Promise<number> {
    const { Attributes } = await this.update(jobId, 1, 'UPDATED_NEW');
    return (readNumber(Attributes, 'attempts') ?? 1) - 1;
  }

  /** The run did not happen (the job waited for a pause): it does not count. */
  async uncountRun(jobId: string): Promise<void> {
    await this.update(jobId, -1, 'NONE');
  }

  /** The job left the queue for the dead-letter queue: if an operator moves it back, it starts afresh. */
  async forget(jobId: string): Promise<void> {
    await this.opts.client.send(new DeleteItemCommand({ TableName: this.opts.tableName, Key: keyOf(itemKey.attempts(jobId)) }));
  }

  private update(jobId: string, by: number, returnValues: 'UPDATED_NEW' | 'NONE') {
    const ttl = ttlSeconds(this.opts.clock() + this.opts.retentionMs);
    return this.opts.client.send(
      new UpdateItemCommand({
        TableName: this.opts.tableName,
        Key: keyOf(itemKey.attempts(jobId)),
        UpdateExpression: 'ADD #attempts :by SET #ttl = :ttl',
        ExpressionAttributeNames: names('attempts', TABLE_TTL_ATTRIBUTE),
        ExpressionAttributeValues: { ':by': n(by), ':ttl': n(ttl) },
        ReturnValues: returnValues,
      }),
    );
  }
}
