import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError, RetryableError } from '../src/core/errors.js';
import { createLogger } from '../src/logger.js';
import { createMetrics, type Metrics } from '../src/metrics.js';
import { backoffDelay, retryDelay } from '../src/queue/backoff.js';
import type { JobRoute } from '../src/core/jobs.js';
import { Worker, type WorkerOptions } from '../src/queue/worker.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';
import type { Job, NewJob, Store } from '../src/core/store.js';

const START = Date.UTC(2025, 0, 1);

interface Harness {
  store: SqliteStore;
  worker: Worker;
  metrics: Metrics;
  logs: string[];
  /** Manual time, used by the store and the worker alike. */
  clock: { now: number };
  enqueue(...jobs: NewJob[]): Promise<void>;
  count(outcome: 'done' | 'retry' | 'paused' | 'dead'): Promise<number>;
}

const running: Harness[] = [];

afterEach(async () => {
  for (const h of running.splice(0)) {
    await h.worker.stop();
    await h.store.close();
  }
});

/** A started worker on an in-memory store. `realTime` uses Date.now(); otherwise time moves only when a test says so. */
/** A handler seeing the whole job, and the route that runs it with a payload check that accepts anything. */
interface TestHandler {
  run(job: Job): Promise<void>;
  pauseKeys?(job: Job): string[];
  onDeadLetter?(job: Job, error: Error): Promise<void>;
}

function routesOf(handlers: Record<string, TestHandler>): ReadonlyMap<string, JobRoute> {
  return new Map(
    Object.entries(handlers).map(([kind, h]) => [
      kind,
      {
        kind: { kind, version: 1, check: (payload: unknown) => ({ ok: true as const, payload }) },
        handler: {
          run: (_payload: unknown, j: Job) => h.run(j),
          ...(h.pauseKeys ? { pauseKeys: (_payload: unknown, j: Job) => h.pauseKeys!(j) } : {}),
          ...(h.onDeadLetter ? { onDeadLetter: (_payload: unknown, error: Error, j: Job) => h.onDeadLetter!(j, error) } : {}),
        },
      },
    ]),
  );
}

function startWorker(opts: Partial<WorkerOptions> & { handlers: Record<string, TestHandler>; realTime?: boolean; wrapStore?: (s: Store) => Store }): Harness {
  const clock = { now: START };
  const now = opts.realTime ? () => Date.now() : () => clock.now;
  const store = openSqliteStore(':memory:', { clock: now });
  const metrics = createMetrics();
  const logs: string[] = [];
  const logger = createLogger('warn', new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) }));
  const worker = new Worker({
    owner: 'worker-1',
    concurrency: 4,
    leaseMs: 5000,
    maxAttempts: 5,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    pollMs: 10,
    clock: now,
    logger,
    metrics,
    ...opts,
    routes: routesOf(opts.handlers),
    store: opts.wrapStore ? opts.wrapStore(store) : store,
  });
  const harness: Harness = {
    store,
    worker,
    metrics,
    logs,
    clock,
    async enqueue(...jobs) {
      await store.enqueue(jobs);
      worker.notify();
    },
    async count(outcome) {
      const values = (await metrics.jobs.get()).values;
      return values.filter((v) => v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);
    },
  };
  running.push(harness);
  worker.start();
  return harness;
}

function job(dedupeKey: string, conversationKey: string, payload: Record<string, unknown> = {}, kind = 'send'): NewJob {
  return { dedupeKey, conversationKey, kind, payload: { dedupeKey, ...payload } };
}

const keyOf = (j: Job) => (j.payload as { dedupeKey: string }).dedupeKey;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(2);
  }
}

describe('Worker', () => {
  it('runs each conversation strictly in order and never two of its jobs at once, while conversations run in parallel', async () => {
    const CONVERSATIONS = 12;
    const PER_CONVERSATION = 8;
    const runs = new Map<string, number[]>();
    const active = new Set<string>();
    let overlaps = 0;
    let parallel = 0;
    const h = startWorker({
      concurrency: 6,
      realTime: true,
      handlers: {
        send: {
          async run(j) {
            if (active.has(j.conversationKey)) overlaps++;
            active.add(j.conversationKey);
            parallel = Math.max(parallel, active.size);
            await sleep(Math.random() * 4);
            const { index } = j.payload as { index: number };
            runs.set(j.conversationKey, [...(runs.get(j.conversationKey) ?? []), index]);
            active.delete(j.conversationKey);
          },
        },
      },
    });
    for (let index = 0; index < PER_CONVERSATION; index++) {
      const batch = Array.from({ length: CONVERSATIONS }, (_, c) => job(`c${c}-${index}`, `conv-${c}`, { index }));
      await h.enqueue(...batch);
    }
    await eventually(async () => (await h.count('done')) === CONVERSATIONS * PER_CONVERSATION);
    expect(overlaps).toBe(0);
    expect(parallel).toBeGreaterThan(1);
    const inOrder = Array.from({ length: PER_CONVERSATION }, (_, i) => i);
    for (let c = 0; c < CONVERSATIONS; c++) expect(runs.get(`conv-${c}`)).toEqual(inOrder);
  });

  it('drains a backlog as fast as slots free up, without waiting for polls', async () => {
    const h = startWorker({ realTime: true, pollMs: 10_000, concurrency: 4, handlers: { send: { run: async () => {} } } });
    await h.enqueue(...Array.from({ length: 200 }, (_, i) => job(`m${i}`, `conv-${i % 40}`)));
    await eventually(async () => (await h.count('done')) === 200, 2000);
  });

  it('retries a failing job with backoff until it succeeds', async () => {
    const attemptsSeen: number[] = [];
    const h = startWorker({
      realTime: true,
      handlers: {
        send: {
          async run(j) {
            attemptsSeen.push(j.attempts);
            if (j.attempts < 2) throw new RetryableError('Genesys answered 503');
          },
        },
      },
    });
    await h.enqueue(job('m1', 'A'));
    await eventually(async () => (await h.count('done')) === 1);
    expect(attemptsSeen).toEqual([0, 1, 2]);
    expect(await h.count('retry')).toBe(2);
    expect((await h.metrics.jobLatency.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(1);
  });

  it('waits at least as long as Retry-After asks before running the job again', async () => {
    let runs = 0;
    const h = startWorker({
      random: () => 0, // no backoff: the wait is Retry-After alone
      handlers: {
        send: {
          async run() {
            runs++;
            if (runs === 1) throw new RetryableError('429 Too Many Requests', { retryAfterMs: 60_000 });
          },
        },
      },
    });
    await h.enqueue(job('m1', 'A'));
    await eventually(async () => (await h.count('retry')) === 1);
    h.clock.now += 59_999;
    h.worker.notify();
    await sleep(50);
    expect(runs).toBe(1);
    h.clock.now += 1;
    h.worker.notify();
    await eventually(async () => (await h.count('done')) === 1);
    expect(runs).toBe(2);
  });

  it('holds back only the jobs of a rate-limited account, without counting their wait as an attempt', async () => {
    const ran: { key: string; attempts: number }[] = [];
    const h = startWorker({
      random: () => 0,
      handlers: {
        send: {
          pauseKeys: (j) => [`account:${(j.payload as { account: string }).account}`],
          async run(j) {
            ran.push({ key: keyOf(j), attempts: j.attempts });
            if (keyOf(j) === 'a1' && j.attempts === 0) {
              throw new RetryableError('account rate limit reached', { pauseKey: 'account:A', retryAfterMs: 60_000 });
            }
          },
        },
      },
    });
    await h.enqueue(job('a1', 'conv-a1', { account: 'A' }));
    await eventually(async () => (await h.count('retry')) === 1);
    expect(await h.store.pausedUntil('account:A')).toBe(START + 60_000);

    await h.enqueue(
      job('a2', 'conv-a2', { account: 'A' }),
      job('b1', 'conv-b1', { account: 'B' }),
      job('a3', 'conv-a3', { account: 'A' }),
      job('b2', 'conv-b2', { account: 'B' }),
    );
    await eventually(async () => (await h.count('done')) === 2 && (await h.count('paused')) === 2);
    expect(ran.map((r) => r.key).sort()).toEqual(['a1', 'b1', 'b2']);

    h.clock.now += 60_000;
    h.worker.notify();
    await eventually(async () => (await h.count('done')) === 5);
    expect(ran.filter((r) => r.key !== 'b1' && r.key !== 'b2').sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: 'a1', attempts: 0 },
      { key: 'a1', attempts: 1 },
      { key: 'a2', attempts: 0 },
      { key: 'a3', attempts: 0 },
    ]);
  });

  it('dead-letters a permanent error at once, tells the handler, and moves on to the next job of the conversation', async () => {
    const deadLettered: { key: string; error: Error }[] = [];
    let runs = 0;
    const h = startWorker({
      realTime: true,
      handlers: {
        send: {
          async run(j) {
            runs++;
            if (keyOf(j) === 'm1') throw new PermanentError('the 24-hour reply window closed', { reason: 'MessageExpired' });
          },
          async onDeadLetter(j, error) {
            deadLettered.push({ key: keyOf(j), error });
          },
        },
      },
    });
    await h.enqueue(job('m1', 'A'), job('m2', 'A'));
    await eventually(async () => (await h.count('done')) === 1);
    expect(runs).toBe(2);
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]!.key).toBe('m1');
    expect(deadLettered[0]!.error).toBeInstanceOf(PermanentError);
    const [dead] = await h.store.listDead(10);
    expect(dead?.lastError).toBe('PermanentError: the 24-hour reply window closed');
    expect(await h.count('dead')).toBe(1);
    expect(await h.count('retry')).toBe(0);
  });

  it('dead-letters a job after maxAttempts failed runs, with the last error', async () => {
    let runs = 0;
    const deadLettered: Error[] = [];
    const h = startWorker({
      realTime: true,
      maxAttempts: 3,
      handlers: {
        send: {
          async run(j) {
            runs++;
            throw new RetryableError(`Genesys answered 503 on attempt ${j.attempts + 1}`);
          },
          async onDeadLetter(_j, error) {
            deadLettered.push(error);
          },
        },
      },
    });
    await h.enqueue(job('m1', 'A'));
    await eventually(async () => (await h.count('dead')) === 1);
    expect(runs).toBe(3);
    expect(deadLettered.map((e) => e.message)).toEqual(['Genesys answered 503 on attempt 3']);
    expect((await h.store.listDead(10))[0]).toMatchObject({ attempts: 3, lastError: 'RetryableError: Genesys answered 503 on attempt 3' });
  });

  it('dead-letters a job of an unknown kind with an error naming the kind', async () => {
    const h = startWorker({ realTime: true, handlers: {} });
    await h.enqueue(job('m1', 'A', {}, 'tiktok.send'));
    await eventually(async () => (await h.count('dead')) === 1);
    expect((await h.store.listDead(10))[0]?.lastError).toBe('PermanentError: no handler is registered for job kind "tiktok.send"');
  });

  it('retries a job whose handler hit a bug, and logs it as an error', async () => {
    let runs = 0;
    const h = startWorker({
      realTime: true,
      handlers: {
        send: {
          async run() {
            if (++runs === 1) throw new TypeError("Cannot read properties of undefined (reading 'id')");
          },
        },
      },
    });
    await h.enqueue(job('m1', 'A'));
    await eventually(async () => (await h.count('done')) === 1);
    expect(await h.count('retry')).toBe(1);
    expect(h.logs.some((l) => l.includes('"level":50') && l.includes('unexpected error'))).toBe(true);
  });

  it('logs a failing dead-letter hook and still dead-letters the job', async () => {
    const h = startWorker({
      realTime: true,
      handlers: {
        send: {
          async run() {
            throw new PermanentError('user blocked the account');
          },
          async onDeadLetter() {
            throw new Error('Genesys receipt failed');
          },
        },
      },
    });
    await h.enqueue(job('m1', 'A'));
    await eventually(async () => (await h.count('dead')) === 1);
    expect(h.logs.some((l) => l.includes('dead-letter hook failed'))).toBe(true);
    expect(await h.store.stats()).toMatchObject({ dead: 1, pending: 0, leased: 0 });
  });

  it('dead-letters without running a job whose earlier runs all ended without an outcome (a crash loop)', async () => {
    let runs = 0;
    const deadLettered: Error[] = [];
    const handlers = {
      send: {
        async run() {
          runs++;
        },
        async onDeadLetter(_j: Job, error: Error) {
          deadLettered.push(error);
        },
      },
    };
    const h = startWorker({ maxAttempts: 2, leaseMs: 1000, pollMs: 5000, handlers });
    await h.worker.stop(); // a second, "crashing" worker leases first
    await h.store.enqueue([job('m1', 'A')]);
    for (let crash = 0; crash < 2; crash++) {
      expect(await h.store.lease({ owner: 'crashing-worker', limit: 1, leaseMs: 1000 })).toHaveLength(1);
      h.clock.now += 1001;
    }
    h.worker.start();
    await eventually(async () => (await h.count('dead')) === 1);
    expect(runs).toBe(0);
    expect(deadLettered[0]?.message).toMatch(/gave up after 2 attempts/);
  });

  it('keeps going after the store fails, retrying after pollMs', async () => {
    let failures = 0;
    let runs = 0;
    const h = startWorker({
      realTime: true,
      wrapStore: (store) =>
        Object.assign(Object.create(store) as Store, {
          lease: (opts: Parameters<Store['lease']>[0]) =>
            failures++ < 3 ? Promise.reject(new Error('SQLITE_BUSY: database is locked')) : store.lease(opts),
        }),
      handlers: {
        send: {
          async run() {
            runs++;
          },
        },
      },
    });
    await h.enqueue(job('m1', 'A'));
    await eventually(async () => (await h.count('done')) === 1);
    expect(runs).toBe(1);
    expect(h.logs.filter((l) => l.includes('lease failed'))).toHaveLength(3);
  });

  it('stop() waits for the jobs in flight and then leases nothing more', async () => {
    let started = 0;
    let finished = 0;
    const h = startWorker({
      realTime: true,
      handlers: {
        send: {
          async run() {
            started++;
            await sleep(100);
            finished++;
          },
        },
      },
    });
    await h.enqueue(job('m1', 'A'));
    await eventually(() => started === 1);
    await h.worker.stop();
    expect(finished).toBe(1);
    expect((await h.store.stats()).done).toBe(1);

    await h.enqueue(job('m2', 'B'));
    await sleep(50);
    expect(started).toBe(1);
  });

  it('stop() gives up waiting after leaseMs when a job hangs', async () => {
    const h = startWorker({
      realTime: true,
      leaseMs: 100,
      handlers: { send: { run: () => new Promise<void>(() => {}) } },
    });
    await h.enqueue(job('m1', 'A'));
    await eventually(async () => (await h.store.stats()).leased === 1);
    const begun = Date.now();
    await h.worker.stop();
    expect(Date.now() - begun).toBeLessThan(1000);
  });

  it('runs a job right after notify(), long before the next poll', async () => {
    let ranAt = 0;
    const h = startWorker({
      realTime: true,
      pollMs: 10_000,
      handlers: {
        send: {
          async run() {
            ranAt = Date.now();
          },
        },
      },
    });
    await sleep(30); // the worker found nothing and is asleep
    const enqueuedAt = Date.now();
    await h.enqueue(job('m1', 'A'));
    await eventually(() => ranAt > 0);
    expect(ranAt - enqueuedAt).toBeLessThan(500);
  });
});

describe('retry delays', () => {
  const opts = { baseMs: 1000, maxMs: 15 * 60_000 };

  it('stays within [0, min(maxMs, baseMs * 2^attempt)) for any attempt and any random draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const delay = backoffDelay(attempt, { ...opts, random: () => r });
        const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** attempt);
        return Number.isInteger(delay) && delay >= 0 && delay < ceiling;
      }),
    );
  });

  it('doubles the ceiling with each attempt until maxMs', () => {
    const top = (attempt: number) => backoffDelay(attempt, { ...opts, random: () => 0.999999 });
    expect([0, 1, 2, 3].map(top)).toEqual([999, 1999, 3999, 7999]);
    expect(top(30)).toBe(899_999);
  });

  it('never retries sooner than Retry-After, even beyond maxMs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 3_600_000 }), (attempt, retryAfterMs) => {
        const delay = retryDelay(new RetryableError('429', { retryAfterMs }), attempt, opts);
        return delay >= retryAfterMs;
      }),
    );
    expect(retryDelay(new RetryableError('429', { retryAfterMs: 3_600_000 }), 0, { ...opts, random: () => 0 })).toBe(3_600_000);
    expect(retryDelay(new Error('bug'), 0, { ...opts, random: () => 0.5 })).toBe(500);
  });
});
