/**
 * A job whose outcome could not be recorded runs again once its lease expires: a duplicate for the customer or
 * the agent. So the worker tries a failed settle again, on a fresh connection, while the lease lasts (issue 12,
 * point 5), and a retried settle never applies twice.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { JobRoute } from '../src/core/jobs.js';
import { RetryableError } from '../src/core/errors.js';
import type { Job, LeasedQueue, Pauses, Store } from '../src/core/store.js';
import { Worker } from '../src/queue/worker.js';
import { openPostgresStore, type PostgresStore } from '../src/store/postgres/index.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { capturedLogger, eventually } from './helpers.js';

const URL = process.env.DMBRIDGE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: URL, max: 3, connectionTimeoutMillis: 5000 });
admin.on('error', () => undefined);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await admin.end();
});

/** One job kind, `send`, run by `run`. */
function routes(run: (job: Job) => Promise<void>): ReadonlyMap<string, JobRoute> {
  const kind = { kind: 'send', version: 1, check: (payload: unknown) => ({ ok: true as const, payload }) };
  return new Map([['send', { kind, handler: { run: (_payload: unknown, job: Job) => run(job) } }]]);
}

function startWorker(store: LeasedQueue & Pauses, run: (job: Job) => Promise<void>, leaseMs: number) {
  const { logger, lines } = capturedLogger('warn');
  const worker = new Worker({
    store,
    routes: routes(run),
    owner: 'worker-1',
    concurrency: 2,
    leaseMs,
    maxAttempts: 5,
    backoffBaseMs: 1,
    backoffMaxMs: 1,
    pollMs: 5,
    random: () => 0, // a failed job is due again at once
    logger,
  });
  worker.start();
  cleanups.push(() => worker.stop());
  return { worker, logs: () => lines.map((l) => JSON.parse(l) as { msg: string }).map((l) => l.msg) };
}

const sendJob = (key: string) => ({ dedupeKey: key, conversationKey: `c-${key}`, kind: 'send', payload: {} });

describe('on PostgreSQL, a settle whose connection is killed mid-flush', () => {
  it('is tried again on a fresh connection: the job is settled exactly once and never runs again', async () => {
    const schema = `dmb_settle_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const applicationName = `dmbridge-settle-${randomUUID().slice(0, 8)}`;
    const store: PostgresStore = await openPostgresStore(URL, { schema, poolSize: 3, applicationName });
    cleanups.push(async () => {
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });
    const blocker = await admin.connect();
    cleanups.push(async () => blocker.release());

    let runs = 0;
    const { logs } = startWorker(
      store,
      async (job) => {
        runs++;
        // Another transaction locks the job's row: the flush that completes it waits there, and is killed there.
        await blocker.query('BEGIN');
        await blocker.query(`SELECT 1 FROM "${schema}".jobs WHERE id = $1 FOR UPDATE`, [job.id]);
      },
      10_000,
    );
    await store.enqueue([sendJob('m1')]);

    let flush: number | undefined;
    expect(
      await eventually(async () => {
        const { rows } = await admin.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [applicationName],
        );
        flush = rows[0]?.pid;
        return flush !== undefined;
      }, 10_000),
    ).toBe(true);
    await admin.query('SELECT pg_terminate_backend($1)', [flush]);
    await blocker.query('ROLLBACK');

    const state = async () =>
      (await admin.query<{ state: string; attempts: number }>(`SELECT state, attempts FROM "${schema}".jobs`)).rows[0]!;
    expect(await eventually(async () => (await state()).state === 'done', 10_000)).toBe(true);
    expect(await state()).toEqual({ state: 'done', attempts: 0 });
    expect(runs).toBe(1);
    expect(logs()).toContain('settling the job failed; trying again');
    expect(logs()).not.toContain('job could not be settled; it runs again after its lease expires');
  });
});

describe('a retried settle', () => {
  it('changes nothing when the attempt that failed had committed, even after this worker leased the job again', async () => {
    const sqlite = openSqliteStore(':memory:');
    cleanups.push(() => sqlite.close());
    let retries = 0;
    // The first retry is recorded, but its answer is lost (a connection that broke after COMMIT), and only once
    // this worker has leased the job again, so that the settle tried again meets the new lease.
    const store = Object.assign(Object.create(sqlite) as Store, {
      async retry(...args: Parameters<Store['retry']>) {
        const result = await sqlite.retry(...args);
        if (++retries > 1) return result;
        await eventually(async () => (await sqlite.stats()).leased === 1, 5000);
        throw new Error('Connection terminated unexpectedly');
      },
    });
    const runs: number[] = [];
    const { logs } = startWorker(
      store,
      async (job) => {
        runs.push(job.attempts);
        if (job.attempts === 0) throw new RetryableError('Genesys answered 503');
        await eventually(() => retries >= 2, 5000); // the second run lasts until the settle was tried again
      },
      10_000,
    );
    await sqlite.enqueue([sendJob('m1')]);

    expect(await eventually(async () => (await sqlite.stats()).done === 1, 10_000)).toBe(true);
    expect(runs).toEqual([0, 1]);
    expect(retries).toBe(2);
    expect(logs()).toContain('lease lost before the job was settled');
  });

  it('stops when the lease is over, and the job runs again', async () => {
    const sqlite = openSqliteStore(':memory:');
    cleanups.push(() => sqlite.close());
    let failing = true;
    let completes = 0;
    const store = Object.assign(Object.create(sqlite) as Store, {
      async complete(...args: Parameters<Store['complete']>) {
        completes++;
        if (failing) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        return sqlite.complete(...args);
      },
    });
    let runs = 0;
    const started = Date.now();
    const { logs } = startWorker(store, async () => void runs++, 400);
    await sqlite.enqueue([sendJob('m1')]);

    expect(await eventually(() => logs().includes('job could not be settled; it runs again after its lease expires'), 5000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(400 + 1000);
    expect(completes).toBeGreaterThan(2);
    failing = false;
    expect(await eventually(async () => (await sqlite.stats()).done === 1, 5000)).toBe(true);
    expect(runs).toBe(2);
  });
});
