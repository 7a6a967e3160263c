/**
 * Long-lived dedupe for the AWS profile. SQS FIFO drops a repeated MessageDeduplicationId for 5 minutes only
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-exactly-once-processing.html),
 * while Meta redelivers for up to 36 hours, so the keys are kept here for the configured retention.
 *
 * A key goes through two states, each one conditional write on one item:
 * - held: claimed by one intake call, which is sending the message now. The hold is short (`CLAIM_HOLD_MS`),
 *   so a call that died between claim and send frees the key by itself.
 * - queued: the message is in the queue; the key is a duplicate for the retention period.
 * Only a queued key is a duplicate. A key held by another call is neither new nor known to be stored: the
 * caller must refuse (503) so the platform delivers it again, never drop it.
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clock } from '../../core/clock.js';
import { isConditionFailed, itemKey, keyOf, n, names, readNumber, s } from './items.js';
import { TABLE_KEY, TABLE_TTL_ATTRIBUTE, ttlSeconds } from './table.js';

/**
 * Longer than an intake call can live (the ingress function's timeout, under API Gateway's 30 s), and shorter
 * than SQS FIFO's 5-minute dedupe window: a call that sent the message but died before confirming leaves a hold
 * that lapses while SQS still drops the same message sent again by the next delivery.
 */
export const CLAIM_HOLD_MS = 90_000;

export type ClaimOutcome = 'claimed' | 'queued' | 'held';

export interface DedupeClaimsOptions {
  client: DynamoDBClient;
  tableName: string;
  clock: Clock;
  /** How long a queued key stays a duplicate (the configured dedupe retention). */
  retentionMs: number;
}

export class DedupeClaims {
  constructor(private readonly opts: DedupeClaimsOptions) {}

  /** Holds `key` for `holder` when no one holds it and it is not queued (or its time ran out). */
  async claim(key: string, holder: string): Promise<ClaimOutcome> {
    const now = this.opts.clock();
    const until = now + CLAIM_HOLD_MS;
    try {
      await this.opts.client.send(
        new PutItemCommand({
          TableName: this.opts.tableName,
          Item: {
            ...keyOf(itemKey.dedupe(key)),
            holder: s(holder),
            createdAt: n(now),
            expiresAt: n(until),
            [TABLE_TTL_ATTRIBUTE]: n(ttlSeconds(until)),
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now',
          ExpressionAttributeNames: names(TABLE_KEY.name, 'expiresAt'),
          ExpressionAttributeValues: { ':now': n(now) },
        }),
      );
      return 'claimed';
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
    // dynalite has no ReturnValuesOnConditionCheckFailure, so one read tells held from queued.
    const { Item } = await this.opts.client.send(
      new GetItemCommand({ TableName: this.opts.tableName, Key: keyOf(itemKey.dedupe(key)), ConsistentRead: true }),
    );
    const expiresAt = readNumber(Item, 'expiresAt') ?? 0;
    return readNumber(Item, 'queuedAt') !== undefined && expiresAt > this.opts.clock() ? 'queued' : 'held';
  }

  /** The message is in the queue: the key is a duplicate for the retention period. False if the hold was lost. */
  async confirm(key: string, holder: string): Promise<boolean> {
    const now = this.opts.clock();
    const until = now + this.opts.retentionMs;
    try {
      await this.opts.client.send(
        new UpdateItemCommand({
          TableName: this.opts.tableName,
          Key: keyOf(itemKey.dedupe(key)),
          UpdateExpression: 'SET #queuedAt = :now, #expiresAt = :until, #ttl = :ttl',
          ConditionExpression: '#holder = :holder',
          ExpressionAttributeNames: names('queuedAt', 'expiresAt', TABLE_TTL_ATTRIBUTE, 'holder'),
          ExpressionAttributeValues: { ':now': n(now), ':until': n(until), ':ttl': n(ttlSeconds(until)), ':holder': s(holder) },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /** Frees a key still held by `holder` and not queued, so the next delivery of it is taken as new. */
  async release(key: string, holder: string): Promise<void> {
    try {
      await this.opts.client.send(
        new DeleteItemCommand({
          TableName: this.opts.tableName,
          Key: keyOf(itemKey.dedupe(key)),
          ConditionExpression: '#holder = :holder AND attribute_not_exists(#queuedAt)',
          ExpressionAttributeNames: names('holder', 'queuedAt'),
          ExpressionAttributeValues: { ':holder': s(holder) },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }
}
