/**
 * The DynamoDB engine of the AWS profile's state: conversations, records, locks and pauses, with the same
 * rules as the SQL engines (src/core/store.ts), each kept by one single-item conditional write. The queue
 * itself is SQS FIFO (src/store/sqs/); dedupe claims (./claims.ts) and attempt counters (./attempts.ts) live
 * in the same table.
 *
 * Every read is strongly consistent, so a write acknowledged by one function is seen by the next one.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html
 */
import {
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Clock } from '../../core/clock.js';
import type { ConversationState } from '../../core/conversation.js';
import type { Conversations, Locks, Maintenance, Pauses, Records } from '../../core/store.js';
import { DEDUPE_PREFIX, isConditionFailed, itemKey, keyOf, n, names, readNumber, readString, s, type Item } from './items.js';
import { TABLE_KEY, TABLE_TTL_ATTRIBUTE, ttlSeconds } from './table.js';

export interface DynamoStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  clock: Clock;
}

/** Deletes issued at once while purging. */
const PURGE_CONCURRENCY = 25;

export class DynamoStore implements Conversations, Records, Locks, Pauses, Maintenance {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly clock: Clock;
  private closed = false;

  constructor(opts: DynamoStoreOptions) {
    this.client = opts.client;
    this.table = opts.tableName;
    this.clock = opts.clock;
  }

  /**
   * The newest message resets the reply count and sets the time and thread; an older one (a late webhook)
   * only counts. Two writes at most, each on its own correct whatever runs between them: the second only adds.
   */
  async recordCustomerMessage(conversationKey: string, at: number, threadId?: string): Promise<void> {
    const key = keyOf(itemKey.conversation(conversationKey));
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: `SET #lastInboundAt = :at, #repliesSinceCustomer = :zero${threadId !== undefined ? ', #threadId = :thread' : ''} ADD #customerMessages :one`,
          ConditionExpression: 'attribute_not_exists(#lastInboundAt) OR #lastInboundAt <= :at',
          ExpressionAttributeNames: names('lastInboundAt', 'repliesSinceCustomer', 'customerMessages', ...(threadId !== undefined ? ['threadId'] : [])),
          ExpressionAttributeValues: { ':at': n(at), ':zero': n(0), ':one': n(1), ...(threadId !== undefined ? { ':thread': s(threadId) } : {}) },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      await this.add(key, 'customerMessages');
    }
  }

  async recordReplySent(conversationKey: string): Promise<void> {
    await this.add(keyOf(itemKey.conversation(conversationKey)), 'repliesSinceCustomer');
  }

  async getConversation(conversationKey: string): Promise<ConversationState> {
    const item = await this.get(itemKey.conversation(conversationKey));
    if (!item) return {};
    const lastInboundAt = readNumber(item, 'lastInboundAt');
    const threadId = readString(item, 'threadId');
    return {
      ...(lastInboundAt !== undefined ? { lastInboundAt } : {}),
      customerMessages: readNumber(item, 'customerMessages') ?? 0,
      repliesSinceCustomer: readNumber(item, 'repliesSinceCustomer') ?? 0,
      ...(threadId !== undefined ? { threadId } : {}),
    };
  }

  async putRecord(namespace: string, key: string, value: unknown, expiresAt: number): Promise<void> {
    const json = JSON.stringify(value ?? null);
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: { ...keyOf(itemKey.record(namespace, key)), value: s(json), expiresAt: n(expiresAt), [TABLE_TTL_ATTRIBUTE]: n(ttlSeconds(expiresAt)) },
      }),
    );
  }

  async getRecord<T>(namespace: string, key: string): Promise<T | undefined> {
    const item = await this.get(itemKey.record(namespace, key));
    const expiresAt = readNumber(item, 'expiresAt');
    const value = readString(item, 'value');
    if (value === undefined || expiresAt === undefined || expiresAt <= this.clock()) return undefined;
    return JSON.parse(value) as T;
  }

  /** Free, lapsed (its `until` has passed) or already ours: the lock is taken until `until`. */
  async acquireLock(name: string, owner: string, until: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          // The item outlives `until` by a second, so time-to-live never frees a lock that is still held.
          Item: { ...keyOf(itemKey.lock(name)), owner: s(owner), until: n(until), [TABLE_TTL_ATTRIBUTE]: n(ttlSeconds(until) + 1) },
          ConditionExpression: 'attribute_not_exists(#pk) OR #owner = :owner OR #until < :now',
          ExpressionAttributeNames: names(TABLE_KEY.name, 'owner', 'until'),
          ExpressionAttributeValues: { ':owner': s(owner), ':now': n(this.clock()) },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  async releaseLock(name: string, owner: string): Promise<void> {
    await this.deleteIf(itemKey.lock(name), '#owner = :owner', names('owner'), { ':owner': s(owner) });
  }

  async pause(key: string, until: number): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { ...keyOf(itemKey.pause(key)), until: n(until), [TABLE_TTL_ATTRIBUTE]: n(ttlSeconds(until)) },
          ConditionExpression: 'attribute_not_exists(#pk) OR #until < :until',
          ExpressionAttributeNames: names(TABLE_KEY.name, 'until'),
          ExpressionAttributeValues: { ':until': n(until) },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err; // a longer pause is already there: it stays
    }
  }

  async pausedUntil(key: string): Promise<number> {
    const until = readNumber(await this.get(itemKey.pause(key)), 'until') ?? 0;
    return until > this.clock() ? until : 0;
  }

  /**
   * On AWS, time-to-live deletes expired items without this. It scans the whole table, so it is meant for
   * DynamoDB Local and small tables; each delete re-checks its condition, so an item renewed meanwhile stays.
   * There are no finished jobs to delete here: the queue is SQS.
   */
  async purge(opts: { dedupeBefore: number; doneBefore: number }): Promise<{ dedupeKeys: number; jobs: number }> {
    const condition = `#ttl <= :nowSeconds OR (begins_with(#pk, :dedupe) AND #createdAt < :dedupeBefore)`;
    const expression = {
      ExpressionAttributeNames: names(TABLE_TTL_ATTRIBUTE, TABLE_KEY.name, 'createdAt'),
      ExpressionAttributeValues: { ':nowSeconds': n(Math.floor(this.clock() / 1000)), ':dedupe': s(DEDUPE_PREFIX), ':dedupeBefore': n(opts.dedupeBefore) },
    };
    let dedupeKeys = 0;
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({ TableName: this.table, FilterExpression: condition, ProjectionExpression: '#pk', ExclusiveStartKey: startKey, ...expression }),
      );
      const keys = (page.Items ?? []).map((item) => readString(item, TABLE_KEY.name)).filter((pk): pk is string => pk !== undefined);
      for (let i = 0; i < keys.length; i += PURGE_CONCURRENCY) {
        const some = keys.slice(i, i + PURGE_CONCURRENCY);
        const deleted = await Promise.all(some.map((pk) => this.deleteIf(pk, condition, expression.ExpressionAttributeNames, expression.ExpressionAttributeValues)));
        dedupeKeys += some.filter((pk, j) => deleted[j] && pk.startsWith(DEDUPE_PREFIX)).length;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { dedupeKeys, jobs: 0 };
  }

  /** The table exists and is active (a read of its description only). */
  async checkIntegrity(): Promise<string[]> {
    const { Table } = await this.client.send(new DescribeTableCommand({ TableName: this.table }));
    return Table?.TableStatus === 'ACTIVE' ? [] : [`DynamoDB table ${this.table} is ${Table?.TableStatus ?? 'missing'}, not ACTIVE`];
  }

  /** Closes the client's connections. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }

  private async get(pk: string): Promise<Item | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.table, Key: keyOf(pk), ConsistentRead: true }));
    return Item;
  }

  private async add(key: Item, attribute: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: key,
        UpdateExpression: `ADD #${attribute} :one`,
        ExpressionAttributeNames: names(attribute),
        ExpressionAttributeValues: { ':one': n(1) },
      }),
    );
  }

  /** True when it deleted the item; false when the item was not in the state `condition` asks for. */
  private async deleteIf(pk: string, condition: string, attributeNames: Record<string, string>, values: Item): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteItemCommand({ TableName: this.table, Key: keyOf(pk), ConditionExpression: condition, ExpressionAttributeNames: attributeNames, ExpressionAttributeValues: values }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }
}
