/**
 * The DynamoDB state of the AWS profile against local DynamoDB servers: the store role suites shared with the
 * SQL engines (test/contract/), then what only this engine has (dedupe claims, attempt counters, the TTL
 * attribute). dynalite always runs; DynamoDB Local runs too when Java is there (the log says which ran).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { AttemptCounters } from '../../src/store/dynamodb/attempts.js';
import { CLAIM_HOLD_MS, DedupeClaims } from '../../src/store/dynamodb/claims.js';
import { createDynamoClient } from '../../src/store/dynamodb/client.js';
import { itemKey, keyOf } from '../../src/store/dynamodb/items.js';
import { DynamoStore } from '../../src/store/dynamodb/store.js';
import { TABLE_TTL_ATTRIBUTE } from '../../src/store/dynamodb/table.js';
import { conversationsContract } from '../contract/conversations.js';
import { DAY_MS, freshStorePerTest, START } from '../contract/harness.js';
import { locksContract } from '../contract/locks.js';
import { pausesContract } from '../contract/pauses.js';
import { recordsContract } from '../contract/records.js';
import { CREDENTIALS, createTable, javaAvailable, localDynamoClient, useLocalAws, type DynamoEngine, type LocalAwsEndpoints } from './local-aws.js';

const RETENTION_MS = 7 * DAY_MS;

const engines: DynamoEngine[] =
  process.env.DMBRIDGE_TEST_DYNAMODB === 'dynalite' || (!javaAvailable() && process.env.DMBRIDGE_TEST_DYNAMODB !== 'local')
    ? ['dynalite']
    : ['dynalite', 'DynamoDB Local'];

describe.each(engines)('the DynamoDB engine on %s', (engine) => {
  const local = useLocalAws(engine);

  /** Everything the engine keeps, on one fresh table. */
  async function open(clock: Clock) {
    const options = await createTable(local.endpoints);
    const client = createDynamoClient(options, CREDENTIALS);
    const table = { client, tableName: options.tableName, clock };
    const store = new DynamoStore(table);
    return {
      store,
      claims: new DedupeClaims({ ...table, retentionMs: RETENTION_MS }),
      attempts: new AttemptCounters({ ...table, retentionMs: RETENTION_MS }),
      tableName: options.tableName,
      close: () => store.close(),
    };
  }
  const openStore = async (clock: Clock) => (await open(clock)).store;

  describe('DynamoStore (store contract)', () => {
    conversationsContract(openStore);
    locksContract(openStore);
    pausesContract(openStore);
    recordsContract(openStore);
  });

  describe('DynamoStore', () => {
    const t = freshStorePerTest(open);

    it('keeps records whose namespace and key could be read as one another apart', async () => {
      const { store } = t.store;
      await store.putRecord('link#x', 'y', 'first', t.now + DAY_MS);
      await store.putRecord('link', 'x#y', 'second', t.now + DAY_MS);
      expect(await store.getRecord('link#x', 'y')).toBe('first');
      expect(await store.getRecord('link', 'x#y')).toBe('second');
    });

    it('gives every expiring item a TTL in epoch seconds, never before its expiry, so AWS deletes it', async () => {
      const { store, claims } = t.store;
      await store.putRecord('profile', 'u1', { name: 'Jane' }, t.now + 1500);
      await store.pause('ig:1', t.now + 60_000);
      await store.acquireLock('refresh:acme', 'a', t.now + 10_000);
      await claims.claim('ig:m1', 'holder');
      expect(await ttlOf(local.endpoints, t.store.tableName, itemKey.record('profile', 'u1'))).toBe(Math.ceil((START + 1500) / 1000));
      expect(await ttlOf(local.endpoints, t.store.tableName, itemKey.pause('ig:1'))).toBe((START + 60_000) / 1000);
      expect(await ttlOf(local.endpoints, t.store.tableName, itemKey.lock('refresh:acme'))).toBeGreaterThan((START + 10_000) / 1000);
      expect(await ttlOf(local.endpoints, t.store.tableName, itemKey.dedupe('ig:m1'))).toBe((START + CLAIM_HOLD_MS) / 1000);
    });

    describe('dedupe claims', () => {
      it('tells a new key, a key another delivery is enqueueing, and a key already queued apart', async () => {
        const { claims } = t.store;
        expect(await claims.claim('ig:m1', 'call-1')).toBe('claimed');
        expect(await claims.claim('ig:m1', 'call-2')).toBe('held');
        expect(await claims.confirm('ig:m1', 'call-1')).toBe(true);
        expect(await claims.claim('ig:m1', 'call-3')).toBe('queued');
      });

      it('gives a free key to exactly one of many concurrent deliveries', async () => {
        const { claims } = t.store;
        const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => claims.claim('ig:m1', `call-${i}`)));
        expect(outcomes.filter((o) => o === 'claimed')).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'held')).toHaveLength(19);
      });

      it('frees a released key for the next delivery, but never a queued one', async () => {
        const { claims } = t.store;
        await claims.claim('ig:m1', 'call-1');
        await claims.release('ig:m1', 'call-2'); // not the holder: no effect
        expect(await claims.claim('ig:m1', 'call-2')).toBe('held');
        await claims.release('ig:m1', 'call-1');
        expect(await claims.claim('ig:m1', 'call-2')).toBe('claimed');
        await claims.confirm('ig:m1', 'call-2');
        await claims.release('ig:m1', 'call-2');
        expect(await claims.claim('ig:m1', 'call-3')).toBe('queued');
      });

      it('lets the hold of a delivery that died lapse, and lets the lapsed holder know it lost the key', async () => {
        const { claims } = t.store;
        await claims.claim('ig:m1', 'died');
        t.now += CLAIM_HOLD_MS - 1;
        expect(await claims.claim('ig:m1', 'next')).toBe('held');
        t.now += 1;
        expect(await claims.claim('ig:m1', 'next')).toBe('claimed');
        expect(await claims.confirm('ig:m1', 'died')).toBe(false);
      });

      it('drops a queued key as a duplicate for the retention period, then takes it as new', async () => {
        const { claims } = t.store;
        await claims.claim('ig:m1', 'call-1');
        await claims.confirm('ig:m1', 'call-1');
        t.now += RETENTION_MS - 1;
        expect(await claims.claim('ig:m1', 'call-2')).toBe('queued');
        t.now += 1;
        expect(await claims.claim('ig:m1', 'call-2')).toBe('claimed');
      });

      it('purges keys claimed before the cutoff and counts them', async () => {
        const { store, claims } = t.store;
        await claims.claim('old', 'call-1');
        await claims.confirm('old', 'call-1');
        t.now += 2 * DAY_MS;
        await claims.claim('recent', 'call-2');
        await claims.confirm('recent', 'call-2');
        expect(await store.purge({ dedupeBefore: t.now - DAY_MS, doneBefore: 0 })).toEqual({ dedupeKeys: 1, jobs: 0 });
        expect(await claims.claim('old', 'call-3')).toBe('claimed');
        expect(await claims.claim('recent', 'call-3')).toBe('queued');
      });
    });

    describe('attempt counters', () => {
      it('counts each run before it starts, gives back a run that only waited, and starts afresh when forgotten', async () => {
        const { attempts } = t.store;
        expect(await attempts.countRun('job-1')).toBe(0);
        expect(await attempts.countRun('job-1')).toBe(1);
        await attempts.uncountRun('job-1');
        expect(await attempts.countRun('job-1')).toBe(1);
        expect(await attempts.countRun('job-2')).toBe(0);
        await attempts.forget('job-1');
        expect(await attempts.countRun('job-1')).toBe(0);
      });

      it('counts every one of many concurrent runs', async () => {
        const { attempts } = t.store;
        const before = await Promise.all(Array.from({ length: 10 }, () => attempts.countRun('job-1')));
        expect(before.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      });
    });
  });
});

async function ttlOf(endpoints: LocalAwsEndpoints, tableName: string, pk: string): Promise<number | undefined> {
  const client = localDynamoClient(endpoints);
  try {
    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: keyOf(pk), ConsistentRead: true }));
    const ttl = Item?.[TABLE_TTL_ATTRIBUTE]?.N;
    return ttl === undefined ? undefined : Number(ttl);
  } finally {
    client.destroy();
  }
}
