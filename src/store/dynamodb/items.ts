/**
 * How the AWS profile's state is laid out in its one table (./table.ts): each kind of item has its own
 * partition-key prefix, so every read and write addresses one item.
 *
 * | item                     | attributes                                                 |
 * |--------------------------|------------------------------------------------------------|
 * | `conversation#<key>`     | lastInboundAt, customerMessages, repliesSinceCustomer, threadId |
 * | `record#<ns>#<key>`      | value (JSON), expiresAt, ttl                               |
 * | `lock#<name>`            | owner, until, ttl                                          |
 * | `pause#<key>`            | until, ttl                                                 |
 * | `dedupe#<key>`           | holder, createdAt, expiresAt, queuedAt, ttl                |
 * | `attempts#<jobId>`       | attempts, ttl                                              |
 *
 * Times are epoch milliseconds except `ttl` (epoch seconds, for DynamoDB's time-to-live).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { TABLE_KEY } from './table.js';

export type Item = Record<string, AttributeValue>;

/** The namespace is percent-encoded, so a `#` in it can never be confused with the separator. */
export const itemKey = {
  conversation: (key: string) => `conversation#${key}`,
  record: (namespace: string, key: string) => `record#${encodeURIComponent(namespace)}#${key}`,
  lock: (name: string) => `lock#${name}`,
  pause: (key: string) => `pause#${key}`,
  dedupe: (key: string) => `dedupe#${key}`,
  attempts: (jobId: string) => `attempts#${jobId}`,
};

export const DEDUPE_PREFIX = 'dedupe#';

export function keyOf(pk: string): Item {
  return { [TABLE_KEY.name]: { S: pk } };
}

export const s = (value: string): AttributeValue => ({ S: value });
export const n = (value: number): AttributeValue => ({ N: String(value) });

export function readNumber(item: Item | undefined, name: string): number | undefined {
  const value = item?.[name]?.N;
  return value === undefined ? undefined : Number(value);
}

export function readString(item: Item | undefined, name: string): string | undefined {
  return item?.[name]?.S;
}

/** `#name` placeholders for every attribute an expression uses: several (`ttl`, `owner`, `value`) are reserved words. */
export function names(...attributes: string[]): Record<string, string> {
  return Object.fromEntries(attributes.map((a) => [`#${a}`, a]));
}

/** A conditional write that found the item in another state: an answer, not a failure. */
export function isConditionFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}
