/**
 * The contract every Store engine must pass (src/core/store.ts); the roles an engine without a pull queue
 * also implements have their own suites in ./contract/, run from here too. Call it from an engine's test file:
 *
 *   storeContract('SqliteStore', async (clock) => openSqliteStore(':memory:', { clock }));
 *
 * Each test gets a fresh, empty store and a manual clock it advances itself.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import type { Job, NewJob, Store } from '../src/core/store.js';
import { conversationsContract } from './contract/conversations.js';
import { locksContract } from './contract/locks.js';
import { pausesContract } from './contract/pauses.js';
import { recordsContract } from './contract/records.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const LEASE_MS = 30_000;
const START = Date.UTC(2025, 0, 1);

export function storeContract(name: string, makeStore: (clock: Clock) => Promise<Store>): void {
  describe(`${name} (store contract)`, () => {
    let now: number;
    let store: Store;

    beforeEach(async () => {
      now = START;
      store = await makeStore(() => now);
    });
    afterEach(async () => {
      await store.close();
    });

    const lease = (owner = 'worker-1', limit = 10) => store.lease({ owner, limit, leaseMs: LEASE_MS });
    const leaseIds = async (owner = 'worker-1', limit = 10) => (await lease(owner, limit)).map((j) => j.dedupeKey).sort();
    const leaseOne = async (owner = 'worker-1'): Promise<Job> => {
      const jobs = await lease(owner, 1);
      expect(jobs).toHaveLength(1);
      return jobs[0]!;
    };

    describe('enqueue and dedupe', () => {
      it('keeps every field of a job as enqueued, with attempts 0 and the enqueue time', async () => {
        const payload = { text: 'héllo 👋', nested: { n: 1, list: [true, null] } };
        await store.enqueue([{ dedupeKey: 'ig:m1', conversationKey: 'conn:u1', kind: 'genesys.inbound', payload }]);
        const job = await leaseOne();
        expect(job).toMatchObject({ dedupeKey: 'ig:m1', conversationKey: 'conn:u1', kind: 'genesys.inbound', payload, attempts: 0, createdAt: START });
        expect(typeof job.id).toBe('string');
      });

      it('drops a key repeated within one call', async () => {
        expect(await store.enqueue([job('a', 'c1'), job('a', 'c1'), job('b', 'c1')])).toEqual({ accepted: 2, duplicates: 1 });
        expect((await store.stats()).pending).toBe(2);
      });

      it('drops a redelivery of a key stored by an earlier call', async () => {
        await store.enqueue([job('a', 'c1')]);
        now += DAY_MS;
        expect(await store.enqueue([job('a', 'c1'), job('b', 'c1')])).toEqual({ accepted: 1, duplicates: 1 });
        expect((await store.stats()).pending).toBe(2);
      });

      it('gives each of many concurrent callers its own result', async () => {
        // Even callers repeat their key within the call; odd callers do not. Keys never overlap across callers.
        const calls = Array.from({ length: 60 }, (_, i) =>
          store.enqueue(i % 2 === 0 ? [job(`k${i}`, `c${i % 7}`), job(`k${i}`, `c${i % 7}`)] : [job(`k${i}`, `c${i % 7}`)]),
        );
        const results = await Promise.all(calls);
        results.forEach((result, i) => expect(result).toEqual({ accepted: 1, duplicates: i % 2 === 0 ? 1 : 0 }));
        expect((await store.stats()).pending).toBe(60);
      });

      it('accepts an empty batch', async () => {
        expect(await store.enqueue([])).toEqual({ accepted: 0, duplicates: 0 });
      });
    });

    describe('ordering per conversation', () => {
      it('leases one job per conversation at a time, in enqueue order', async () => {
        await store.enqueue([job('a1', 'A'), job('a2', 'A')]);
        await store.enqueue([job('a3', 'A')]);
        for (const expected of ['a1', 'a2', 'a3']) {
          const head = await leaseOne();
          expect(head.dedupeKey).toBe(expected);
          expect(await lease('worker-2')).toEqual([]);
          expect(await store.complete(head.id, 'worker-1')).toBe(true);
        }
        expect(await lease()).toEqual([]);
      });

      it('leases the heads of different conversations in parallel, up to the limit', async () => {
        await store.enqueue([job('a1', 'A'), job('a2', 'A'), job('b1', 'B'), job('c1', 'C'), job('d1', 'D')]);
        const first = await lease('worker-1', 3);
        expect(first).toHaveLength(3);
        expect(new Set(first.map((j) => j.conversationKey)).size).toBe(3);
        expect(await leaseIds('worker-2')).toEqual(
          ['a1', 'b1', 'c1', 'd1'].filter((k) => !first.some((j) => j.dedupeKey === k)),
        );
      });

      it('retakes an expired lease and keeps it ahead of later jobs, counting the lost run', async () => {
        await store.enqueue([job('a1', 'A'), job('a2', 'A')]);
        const taken = await leaseOne('worker-1');
        now += LEASE_MS;
        expect(await lease('worker-2')).toEqual([]);
        now += 1;
        const retaken = await leaseOne('worker-2');
        expect(retaken).toMatchObject({ id: taken.id, dedupeKey: 'a1', attempts: 1 });
        expect(await lease('worker-3')).toEqual([]);
        expect(await store.complete(retaken.id, 'worker-2')).toBe(true);
        expect((await leaseOne('worker-3')).dedupeKey).toBe('a2');
      });

      it('lets a dead-lettered job stop blocking its conversation', async () => {
        await store.enqueue([job('a1', 'A'), job('a2', 'A')]);
        const head = await leaseOne();
        expect(await store.deadLetter(head.id, 'worker-1', 'PermanentError: window closed')).toBe(true);
        expect((await leaseOne()).dedupeKey).toBe('a2');
      });
    });

    describe('settling', () => {
      it('lets only the lease owner complete, retry or dead-letter a job', async () => {
        await store.enqueue([job('a1', 'A')]);
        const head = await leaseOne('worker-1');
        expect(await store.complete(head.id, 'worker-2')).toBe(false);
        expect(await store.retry(head.id, 'worker-2', { runAt: now, error: 'x', countAttempt: true })).toBe(false);
        expect(await store.deadLetter(head.id, 'worker-2', 'x')).toBe(false);
        expect(await store.complete(head.id, 'worker-1')).toBe(true);
        expect(await store.complete(head.id, 'worker-1')).toBe(false);
        expect(await store.stats()).toEqual({ pending: 0, leased: 0, dead: 0, done: 1 });
      });

      it('refuses to settle with a lease that expired, even before anyone retook it', async () => {
        await store.enqueue([job('a1', 'A')]);
        const head = await leaseOne('worker-1');
        now += LEASE_MS + 1;
        expect(await store.complete(head.id, 'worker-1')).toBe(false);
        expect(await store.retry(head.id, 'worker-1', { runAt: now, error: 'x', countAttempt: true })).toBe(false);
        expect(await store.deadLetter(head.id, 'worker-1', 'x')).toBe(false);
      });

      it('refuses to settle a job id that does not exist', async () => {
        expect(await store.complete('999999', 'worker-1')).toBe(false);
        expect(await store.complete('not-an-id', 'worker-1')).toBe(false);
        expect(await store.requeueDead('999999')).toBe(false);
      });

      it('does not run a retried job before its runAt, and holds its conversation until then', async () => {
        await store.enqueue([job('a1', 'A'), job('a2', 'A')]);
        const head = await leaseOne();
        expect(await store.retry(head.id, 'worker-1', { runAt: now + 5000, error: 'RetryableError: 503', countAttempt: true })).toBe(true);
        now += 4999;
        expect(await lease()).toEqual([]);
        now += 1;
        expect(await leaseOne()).toMatchObject({ dedupeKey: 'a1', attempts: 1 });
      });

      it('leaves attempts unchanged for a retry that does not count', async () => {
        await store.enqueue([job('a1', 'A')]);
        const head = await leaseOne();
        await store.retry(head.id, 'worker-1', { runAt: now, error: 'paused', countAttempt: false });
        expect((await leaseOne()).attempts).toBe(0);
      });
    });

    describe('dead letters', () => {
      it('lists a dead job with its last error and the time it failed', async () => {
        await store.enqueue([job('a1', 'A', { n: 1 })]);
        const head = await leaseOne();
        now += 1000;
        await store.deadLetter(head.id, 'worker-1', 'PermanentError: user blocked the account');
        const dead = await store.listDead(10);
        expect(dead).toHaveLength(1);
        expect(dead[0]).toMatchObject({
          id: head.id,
          dedupeKey: 'a1',
          payload: { n: 1 },
          lastError: 'PermanentError: user blocked the account',
          failedAt: START + 1000,
        });
        expect(await store.stats()).toMatchObject({ dead: 1, pending: 0, leased: 0 });
      });

      it('runs a requeued dead job again with fresh attempts', async () => {
        await store.enqueue([job('a1', 'A')]);
        const head = await leaseOne();
        await store.retry(head.id, 'worker-1', { runAt: now, error: 'e', countAttempt: true });
        await store.deadLetter((await leaseOne()).id, 'worker-1', 'e');
        expect(await store.requeueDead(head.id)).toBe(true);
        expect(await store.requeueDead(head.id)).toBe(false);
        expect(await store.listDead(10)).toEqual([]);
        expect(await leaseOne()).toMatchObject({ id: head.id, attempts: 0 });
      });

      it('runs a requeued job after the job its conversation is running now, never beside it', async () => {
        await store.enqueue([job('a1', 'A'), job('a2', 'A'), job('a3', 'A')]);
        const first = await leaseOne();
        await store.deadLetter(first.id, 'worker-1', 'e');
        const second = await leaseOne();
        expect(await store.requeueDead(first.id)).toBe(true);
        expect(await lease('worker-2')).toEqual([]);
        await store.complete(second.id, 'worker-1');
        const order: string[] = [];
        for (let j = await lease(); j.length > 0; j = await lease()) {
          expect(j).toHaveLength(1);
          order.push(j[0]!.dedupeKey);
          await store.complete(j[0]!.id, 'worker-1');
        }
        expect(order).toEqual(['a1', 'a3']);
      });

      it('shows one dead job by id, and nothing for a job that is not dead', async () => {
        await store.enqueue([job('a1', 'A', { n: 7 }), job('b1', 'B')]);
        const [a, b] = await lease('worker-1', 2);
        await store.deadLetter(a!.id, 'worker-1', 'PermanentError: refused');
        expect(await store.getDead(a!.id)).toMatchObject({ id: a!.id, payload: { n: 7 }, lastError: 'PermanentError: refused' });
        expect(await store.getDead(b!.id)).toBeUndefined();
        expect(await store.getDead('not-an-id')).toBeUndefined();
      });

      it('drops a dead job for good, while a redelivery of it stays a duplicate', async () => {
        await store.enqueue([job('a1', 'A')]);
        const head = await leaseOne();
        await store.deadLetter(head.id, 'worker-1', 'e');
        expect(await store.dropDead(head.id)).toBe(true);
        expect(await store.dropDead(head.id)).toBe(false);
        expect(await store.listDead(10)).toEqual([]);
        expect(await store.enqueue([job('a1', 'A')])).toEqual({ accepted: 0, duplicates: 1 });
      });

      it('requeues every dead job at once, each conversation in its own order', async () => {
        await store.enqueue([job('a1', 'A'), job('b1', 'B'), job('c1', 'C')]);
        for (const j of await lease('worker-1', 3)) await store.deadLetter(j.id, 'worker-1', 'e');
        expect(await store.requeueAllDead()).toBe(3);
        expect(await store.listDead(10)).toEqual([]);
        expect(await leaseIds('worker-2')).toEqual(['a1', 'b1', 'c1']);
      });
    });

    describe('integrity', () => {
      it('finds nothing wrong with a store it just made', async () => {
        await store.enqueue([job('a1', 'A')]);
        expect(await store.checkIntegrity()).toEqual([]);
      });
    });

    describe('backlog', () => {
      it('says how much waits, since when, what is due, what is dead and what is paused', async () => {
        expect(await store.backlog()).toEqual({ pending: 0, dead: 0, paused: 0 });
        await store.enqueue([job('a1', 'A'), job('a2', 'A')]);
        now += 5000;
        await store.enqueue([job('b1', 'B')]);
        await store.pause('instagram:1', now + 60_000);
        const [a, b] = await lease('worker-1', 2);
        await store.deadLetter(b!.id, 'worker-1', 'e');
        // a1 runs, a2 waits behind it: nothing is due yet.
        expect(await store.backlog()).toEqual({ pending: 2, oldestPendingAt: START, dead: 1, paused: 1 });
        await store.complete(a!.id, 'worker-1');
        expect(await store.backlog()).toEqual({ pending: 1, oldestPendingAt: START, oldestDueAt: START, dead: 1, paused: 1 });
      });

      it('counts a job waiting for its retry time as pending but not as due', async () => {
        await store.enqueue([job('a1', 'A')]);
        await store.retry((await leaseOne()).id, 'worker-1', { runAt: now + 60_000, error: 'e', countAttempt: true });
        expect(await store.backlog()).toMatchObject({ pending: 1, oldestPendingAt: START });
        expect((await store.backlog()).oldestDueAt).toBeUndefined();
        now += 60_000;
        expect((await store.backlog()).oldestDueAt).toBe(START + 60_000);
      });
    });

    describe('purge', () => {
      it('forgets dedupe keys older than the cutoff but still drops a redelivery within 7 days', async () => {
        await store.enqueue([job('old', 'A')]);
        now += 6 * DAY_MS;
        await store.enqueue([job('recent', 'B')]);
        now += 2 * DAY_MS;
        const purged = await store.purge({ dedupeBefore: now - 7 * DAY_MS, doneBefore: now - DAY_MS });
        expect(purged.dedupeKeys).toBe(1);
        expect(await store.enqueue([job('recent', 'B')])).toEqual({ accepted: 0, duplicates: 1 });
        expect(await store.enqueue([job('old', 'A')])).toEqual({ accepted: 1, duplicates: 0 });
      });

      it('deletes done jobs finished before the cutoff and nothing else', async () => {
        await store.enqueue([job('old-done', 'A'), job('old-dead', 'B')]);
        const old = await lease();
        await store.complete(byKey(old, 'old-done').id, 'worker-1');
        await store.deadLetter(byKey(old, 'old-dead').id, 'worker-1', 'e');
        now += 2 * DAY_MS;
        await store.enqueue([job('new-done', 'C'), job('new-leased', 'D')]);
        await store.complete(byKey(await lease(), 'new-done').id, 'worker-1');
        const purged = await store.purge({ dedupeBefore: 0, doneBefore: now - DAY_MS });
        expect(purged).toEqual({ dedupeKeys: 0, jobs: 1 });
        expect(await store.stats()).toEqual({ pending: 0, leased: 1, dead: 1, done: 1 });
      });
    });

    it('counts jobs by state', async () => {
      await store.enqueue([job('a1', 'A'), job('a2', 'A'), job('b1', 'B'), job('c1', 'C'), job('d1', 'D')]);
      expect(await store.stats()).toEqual({ pending: 5, leased: 0, dead: 0, done: 0 });
      const [first, second] = await lease('worker-1', 3);
      await store.complete(first!.id, 'worker-1');
      await store.deadLetter(second!.id, 'worker-1', 'e');
      expect(await store.stats()).toEqual({ pending: 2, leased: 1, dead: 1, done: 1 });
    });
  });

  // Apart from the block above, so that its per-test store is not opened for these too.
  describe(`${name} (store contract)`, () => {
    conversationsContract(makeStore);
    locksContract(makeStore);
    pausesContract(makeStore);
    recordsContract(makeStore);
  });
}

function byKey(jobs: Job[], dedupeKey: string): Job {
  const found = jobs.find((j) => j.dedupeKey === dedupeKey);
  if (!found) throw new Error(`job ${dedupeKey} was not leased`);
  return found;
}

function job(dedupeKey: string, conversationKey: string, payload: unknown = { dedupeKey }): NewJob {
  return { dedupeKey, conversationKey, kind: 'test', payload };
}
