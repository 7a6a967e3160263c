/**
 * The store contract and the multi-instance guarantees against a real PostgreSQL (CI starts one on
 * 127.0.0.1:5432; DMBRIDGE_TEST_POSTGRES_URL overrides). Unreachable PostgreSQL fails the suite, never skips
 * it. Every test works in a fresh random schema, dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open.js';
import { PostgresStore, openPostgresStore, postgresLeaseSql, type PostgresStoreOptions } from '../src/store/postgres/index.js';
import type { Job, NewJob, Store } from '../src/core/store.js';
import { storeContract } from './store-contract.js';

const URL = process.env.DMBRIDGE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: URL, max: 3, connectionTimeoutMillis: 5000 });
admin.on('error', () => undefined);

let created: string[] = [];
const freshSchema = () => {
  const schema = `dmb_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  created.push(schema);
  return schema;
};
const open = (opts: PostgresStoreOptions = {}) => openPostgresStore(URL, { poolSize: 4, schema: freshSchema(), ...opts });

beforeAll(async () => {
  // Fails (not skips) the whole file when PostgreSQL is not there.
  await admin.query('SELECT 1');
});
afterEach(async () => {
  const schemas = created;
  created = [];
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
});
afterAll(async () => {
  await admin.end();
});

storeContract('PostgresStore', async (clock) => open({ clock }));

function job(dedupeKey: string, conversationKey = 'conn:u1'): NewJob {
  return { dedupeKey, conversationKey, kind: 'test', payload: { dedupeKey } };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PostgresStore', () => {
  describe('schema', () => {
    it('migrates once when five instances start at the same time on a fresh schema', async () => {
      const schema = freshSchema();
      const stores = await Promise.all(Array.from({ length: 5 }, () => openPostgresStore(URL, { poolSize: 2, schema })));
      try {
        const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
        expect(rows.map((r) => r.version)).toEqual([1]);
        await stores[0]!.enqueue([job('a')]);
        expect(await stores[4]!.enqueue([job('a')])).toEqual({ accepted: 0, duplicates: 1 });
        expect((await stores[2]!.stats()).pending).toBe(1);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('reopens an existing schema with its data, and refuses a schema from a newer dmbridge', async () => {
      const schema = freshSchema();
      const first = await openPostgresStore(URL, { schema });
      await first.enqueue([job('a')]);
      await first.close();
      const again = await openPostgresStore(URL, { schema });
      expect(await again.stats()).toEqual({ pending: 1, leased: 0, dead: 0, done: 0 });
      await again.close();
      await admin.query(`INSERT INTO "${schema}".schema_migrations (version) VALUES (99)`);
      await expect(openPostgresStore(URL, { schema })).rejects.toThrow(/schema version 99 .*is newer/);
    });

    it('leases through the partial indexes, never scanning the jobs table', async () => {
      const store = await open();
      // A backlog: 5,000 jobs behind 50 heads, 10 of them leased.
      await store.enqueue(Array.from({ length: 5000 }, (_, i) => job(`k${i}`, `c${i % 50}`)));
      await store.lease({ owner: 'w', limit: 10, leaseMs: 60_000 });
      await admin.query(`ANALYZE "${store.schema}".jobs`);
      const { rows } = await admin.query(`EXPLAIN ${postgresLeaseSql(store.schema)}`, [Date.now(), 16, 'w', Date.now() + 60_000]);
      const plan = rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
      expect(plan).not.toMatch(/Seq Scan on jobs/);
      expect(plan).toMatch(/jobs_ready/);
      expect(plan).toMatch(/jobs_leased/);
      await store.close();
    });

    it('is opened by openStore for postgres:// and postgresql:// URLs, with its options', async () => {
      const schema = freshSchema();
      const store = await openStore(URL.replace(/^postgres:/, 'postgresql:'), { postgres: { schema, poolSize: 2 } });
      expect(store).toBeInstanceOf(PostgresStore);
      expect((store as PostgresStore).schema).toBe(schema);
      await store.close();
      await expect(openStore('mysql://x')).rejects.toThrow(/unsupported store URL/);
    });
  });

  describe('group commit', () => {
    it('answers every one of 2,000 concurrent enqueues with its own result, and keeps them all', async () => {
      const store = await open();
      const schema = store.schema;
      // Even callers repeat their key within the call, odd callers do not.
      const calls = Array.from({ length: 2000 }, (_, i) =>
        store.enqueue(i % 2 === 0 ? [job(`k${i}`, `c${i % 50}`), job(`k${i}`, `c${i % 50}`)] : [job(`k${i}`, `c${i % 50}`)]),
      );
      const results = await Promise.all(calls);
      results.forEach((result, i) => expect(result).toEqual({ accepted: 1, duplicates: i % 2 === 0 ? 1 : 0 }));
      await store.close();

      const reopened = await openPostgresStore(URL, { schema });
      expect((await reopened.stats()).pending).toBe(2000);
      expect(await reopened.enqueue([job('k0'), job('k1999')])).toEqual({ accepted: 0, duplicates: 2 });
      // One head per conversation, the lowest id of each.
      const { rows } = await admin.query(
        `SELECT conversation_key, min(id) = min(id) FILTER (WHERE head) AS ok, count(*) FILTER (WHERE head)::int AS heads
           FROM "${schema}".jobs GROUP BY conversation_key`,
      );
      expect(rows).toHaveLength(50);
      expect(rows.every((r) => r.ok && r.heads === 1)).toBe(true);
      await reopened.close();
    });

    it('drops a key delivered twice in one batch by two callers, counting it for the second', async () => {
      const store = await open();
      const [a, b] = await Promise.all([store.enqueue([job('same'), job('x')]), store.enqueue([job('same')])]);
      expect(a).toEqual({ accepted: 2, duplicates: 0 });
      expect(b).toEqual({ accepted: 0, duplicates: 1 });
      await store.close();
    });

    it('rejects every caller of a batch whose transaction fails (here a timeout), and stores none of their jobs', async () => {
      const store = await open({ statementTimeoutMs: 300 });
      await store.enqueue([job('warm-up')]);
      const blocker = await admin.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query(`LOCK TABLE "${store.schema}".dedupe IN EXCLUSIVE MODE`);
        const outcomes = await Promise.allSettled([store.enqueue([job('a')]), store.enqueue([job('b')]), store.enqueue([job('c')])]);
        expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
        expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/statement timeout/);
      } finally {
        await blocker.query('ROLLBACK');
        blocker.release();
      }
      expect(await store.enqueue([job('a')])).toEqual({ accepted: 1, duplicates: 0 });
      expect((await store.stats()).pending).toBe(2);
      await store.close();
    });

    it('rejects only the caller whose job cannot be stored', async () => {
      const store = await open();
      const badPayload = store.enqueue([{ ...job('bad'), payload: { n: 1n } }]);
      const nulKey = store.enqueue([job('nul\u0000key')]);
      const good = store.enqueue([job('good')]);
      await expect(badPayload).rejects.toThrow(TypeError);
      await expect(nulKey).rejects.toThrow(/NUL/);
      await expect(good).resolves.toEqual({ accepted: 1, duplicates: 0 });
      expect(await store.getRecord('ns', 'nul\u0000key')).toBeUndefined();
      await store.close();
    });

    it('records an error text holding NUL (PostgreSQL text cannot) with a replacement character', async () => {
      const store = await open();
      await store.enqueue([job('a')]);
      const [leased] = await store.lease({ owner: 'w', limit: 1, leaseMs: 60_000 });
      expect(await store.deadLetter(leased!.id, 'w', 'PermanentError: bad\u0000byte')).toBe(true);
      expect((await store.listDead(1))[0]?.lastError).toBe('PermanentError: bad\uFFFDbyte');
      await store.close();
    });

    it('writes enqueues still waiting for their batch before closing', async () => {
      const store = await open();
      const schema = store.schema;
      const pending = Promise.all([store.enqueue([job('last-words')]), store.putRecord('ns', 'k', { v: 1 }, Date.now() + 60_000)]);
      await store.close();
      await expect(pending).resolves.toEqual([{ accepted: 1, duplicates: 0 }, undefined]);
      await expect(store.enqueue([job('after-close')])).rejects.toThrow(/closed/);
      const reopened = await openPostgresStore(URL, { schema });
      expect((await reopened.stats()).pending).toBe(1);
      expect(await reopened.getRecord('ns', 'k')).toEqual({ v: 1 });
      await reopened.close();
    });
  });

  describe('several instances on one schema', () => {
    it('never leases two jobs of one conversation at once, nor one job twice, and completes each in enqueue order', async () => {
      const schema = freshSchema();
      const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(URL, { poolSize: 4, schema })));
      const CONVERSATIONS = 50;
      const WAVES = 10;
      const TOTAL = CONVERSATIONS * WAVES;
      const held = new Map<string, string>(); // conversation → job id being run
      const completed = new Map<string, number[]>(); // conversation → waves, in completion order
      const violations: string[] = [];
      let done = 0;
      let retries = 0;

      // Waves are enqueued one after the other, from rotating instances, while all instances lease: wave w of
      // every conversation is enqueued after wave w-1 (so that is the enqueue order to keep).
      const producer = (async () => {
        for (let wave = 0; wave < WAVES; wave++) {
          const jobs = Array.from({ length: CONVERSATIONS }, (_, c) => ({
            dedupeKey: `w${wave}:c${c}`,
            conversationKey: `c${c}`,
            kind: 'test',
            payload: { wave },
          }));
          expect(await stores[wave % stores.length]!.enqueue(jobs)).toEqual({ accepted: CONVERSATIONS, duplicates: 0 });
          await sleep(Math.random() * 5);
        }
      })();

      const runJob = async (store: Store, owner: string, j: Job) => {
        await sleep(Math.random() * 3);
        held.delete(j.conversationKey);
        if (Math.random() < 0.1) {
          retries++;
          if (!(await store.retry(j.id, owner, { runAt: Date.now(), error: 'again', countAttempt: false }))) violations.push(`retry lost ${j.id}`);
          return;
        }
        if (!(await store.complete(j.id, owner))) return void violations.push(`complete lost ${j.id}`);
        const waves = completed.get(j.conversationKey) ?? [];
        waves.push((j.payload as { wave: number }).wave);
        completed.set(j.conversationKey, waves);
        done++;
      };
      // A conversation left without a head would stall the run: stop after 3 s without progress.
      let progressAt = Date.now();
      let lastDone = 0;
      const stalled = () => {
        if (done !== lastDone) [lastDone, progressAt] = [done, Date.now()];
        return Date.now() - progressAt > 3000;
      };
      const worker = async (store: Store, owner: string) => {
        const running = new Set<Promise<void>>();
        while (done < TOTAL && !stalled()) {
          const jobs = await store.lease({ owner, limit: 8, leaseMs: 60_000 });
          for (const j of jobs) {
            const holder = held.get(j.conversationKey);
            if (holder !== undefined) violations.push(`${j.conversationKey}: ${j.id} leased while ${holder} runs`);
            held.set(j.conversationKey, j.id);
            const p = runJob(store, owner, j).finally(() => running.delete(p));
            running.add(p);
          }
          await (jobs.length === 0 ? sleep(2) : Promise.race([sleep(1), ...running]));
        }
        await Promise.all(running);
      };

      try {
        await Promise.all([producer, ...stores.flatMap((store, i) => [worker(store, `w${i}a`), worker(store, `w${i}b`)])]);
        expect(violations).toEqual([]);
        expect(done).toBe(TOTAL);
        const expected = Array.from({ length: WAVES }, (_, w) => w);
        for (let c = 0; c < CONVERSATIONS; c++) expect(completed.get(`c${c}`)).toEqual(expected);
        expect(await stores[0]!.stats()).toEqual({ pending: 0, leased: 0, dead: 0, done: TOTAL });
        expect(retries).toBeGreaterThan(0);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it("lets another instance retake a dead instance's expired lease, counting the lost run", async () => {
      let now = Date.UTC(2025, 0, 1);
      const clock = () => now;
      const schema = freshSchema();
      const [a, b] = await Promise.all([openPostgresStore(URL, { clock, schema }), openPostgresStore(URL, { clock, schema })]);
      await a.enqueue([job('a1', 'A'), job('a2', 'A')]);
      const [taken] = await a.lease({ owner: 'instance-a', limit: 10, leaseMs: 30_000 });
      expect(taken?.dedupeKey).toBe('a1');
      await a.close(); // instance A dies holding the lease

      expect(await b.lease({ owner: 'instance-b', limit: 10, leaseMs: 30_000 })).toEqual([]);
      now += 30_001;
      const retaken = await b.lease({ owner: 'instance-b', limit: 10, leaseMs: 30_000 });
      expect(retaken).toHaveLength(1);
      expect(retaken[0]).toMatchObject({ id: taken!.id, dedupeKey: 'a1', attempts: 1 });
      expect(await b.complete(taken!.id, 'instance-a')).toBe(false);
      expect(await b.complete(taken!.id, 'instance-b')).toBe(true);
      expect((await b.lease({ owner: 'instance-b', limit: 10, leaseMs: 30_000 })).map((j) => j.dedupeKey)).toEqual(['a2']);
      await b.close();
    });

    it('shares pauses, locks and conversation state between instances', async () => {
      const schema = freshSchema();
      const [a, b] = await Promise.all([openPostgresStore(URL, { schema }), openPostgresStore(URL, { schema })]);
      const until = Date.now() + 60_000;
      await a.pause('ig:1', until);
      await b.pause('ig:1', until - 30_000);
      expect(await b.pausedUntil('ig:1')).toBe(until);
      expect(await a.acquireLock('refresh:x', 'a', until)).toBe(true);
      expect(await b.acquireLock('refresh:x', 'b', until)).toBe(false);
      await Promise.all([a.recordCustomerMessage('k', 1000, 't1'), b.recordCustomerMessage('k', 2000, 't2'), b.recordReplySent('k')]);
      expect(await a.getConversation('k')).toMatchObject({ lastInboundAt: 2000, customerMessages: 2, threadId: 't2' });
      await Promise.all([a.close(), b.close()]);
    });
  });

  describe('connection loss', () => {
    const terminate = (applicationName: string) =>
      admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [
        applicationName,
      ]);

    it('recovers after its connections are terminated: a call rejects or succeeds, and a later call succeeds', async () => {
      const applicationName = `dmbridge-test-${randomUUID().slice(0, 8)}`;
      const store = await open({ applicationName });
      await Promise.all([store.enqueue([job('before')]), store.stats(), store.getRecord('ns', 'x')]);
      const { rows } = await terminate(applicationName);
      expect(rows.length).toBeGreaterThan(0);

      const outcome = await Promise.allSettled([store.enqueue([job('during')])]);
      if (outcome[0]!.status === 'rejected') expect(outcome[0]!.reason).toBeInstanceOf(Error);

      let after: unknown;
      for (let attempt = 0; attempt < 3 && after === undefined; attempt++) {
        after = await store.enqueue([job('after')]).catch(() => undefined);
      }
      expect(after).toEqual({ accepted: 1, duplicates: 0 });
      expect((await store.stats()).pending).toBe(outcome[0]!.status === 'fulfilled' ? 3 : 2);
      await store.close();
    });

    it('rejects a batch whose connection is terminated mid-transaction, then works again', async () => {
      const applicationName = `dmbridge-test-${randomUUID().slice(0, 8)}`;
      const store = await open({ applicationName });
      await store.enqueue([job('before')]);
      const blocker = await admin.connect();
      let stuck: Promise<unknown>;
      try {
        await blocker.query('BEGIN');
        await blocker.query(`LOCK TABLE "${store.schema}".dedupe IN EXCLUSIVE MODE`);
        stuck = store.enqueue([job('stuck')]).then(
          () => 'resolved',
          (err: unknown) => err,
        );
        await sleep(200); // the batch is now waiting for the lock, inside its transaction
        await terminate(applicationName);
      } finally {
        await blocker.query('ROLLBACK');
        blocker.release();
      }
      expect(await stuck).toBeInstanceOf(Error);
      expect(await store.enqueue([job('stuck')])).toEqual({ accepted: 1, duplicates: 0 });
      expect((await store.stats()).pending).toBe(2);
      await store.close();
    });

    it('rejects when PostgreSQL is unreachable', async () => {
      const started = Date.now();
      await expect(openPostgresStore('postgres://postgres@127.0.0.1:1/test', { connectionTimeoutMs: 2000, schema: 'unused' })).rejects.toThrow(
        /ECONNREFUSED|connect/,
      );
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });
});
