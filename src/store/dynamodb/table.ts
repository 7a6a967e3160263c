/**
 * The one DynamoDB table of the AWS profile, as the store reads it, the CDK app creates it and the local test
 * servers mirror it: a string partition key and nothing else (every access is a single-item read or
 * conditional write), with time-to-live on `ttl`.
 *
 * DynamoDB deletes an item some time after its `ttl` (epoch seconds) has passed, typically within a few days,
 * and DynamoDB Local never does, so the store also keeps each expiry in milliseconds and filters on it when it
 * reads: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html
 */

export const TABLE_KEY = { name: 'pk', type: 'S' } as const;

/** Epoch seconds; DynamoDB's time-to-live deletes the item after it. */
export const TABLE_TTL_ATTRIBUTE = 'ttl';

/** The `ttl` value for an expiry in epoch milliseconds: never before the expiry itself. */
export function ttlSeconds(expiresAtMs: number): number {
  return Math.ceil(expiresAtMs / 1000);
}
