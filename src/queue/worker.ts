/**
 * The worker: leases stored jobs, runs their handlers concurrently (one job per conversation at a time is the
 * store's rule) and settles each outcome back in the store.
 *
 * Outcome rules:
 * - success → complete (`done`).
 * - PermanentError → dead letter at once: sending it again can only fail again.
 * - RetryableError → retry at now + max(backoff, Retry-After) (`retry`). With a `pauseKey` (a rate limit on
 *   an account or OAuth client) the key is also paused until that time, so every other job using it waits
 *   instead of hitting the limit again.
 * - any other error is a bug somewhere: retried like a RetryableError, logged at error level.
 * - A failed run counts as an attempt, rate-limited runs included (the call was made and refused): the backoff
 *   keeps growing and a job that is rate-limited forever still ends. Jobs that only waited for a paused key
 *   (`paused`) did not run and are not counted, so a long pause never dead-letters the jobs queued behind it.
 * - The run that reaches `maxAttempts` is dead-lettered with its error instead of retried.
 * - A job leased with `attempts >= maxAttempts` (its earlier runs ended without an outcome: the worker crashed
 *   or the run outlived its lease) is dead-lettered without running, so a job that kills its worker cannot
 *   loop forever.
 *
 * Handlers must finish well within `leaseMs` (give their HTTP calls a shorter timeout): once a lease expires,
 * another worker may retake the job and this worker can no longer settle it.
 */
import { PermanentError, RetryableError } from '../core/errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { systemClock, type Clock, type Job, type Store } from '../store/store.js';
import { retryDelay } from './backoff.js';

export interface JobHandler {
  run(job: Job): Promise<void>;
  /** Keys (accounts, OAuth clients) whose pause must hold this job back. */
  pauseKeys?(job: Job): string[];
  /**
   * Called before the job is dead-lettered (at-least-once: a crash in between runs it again), so the far side
   * can learn the outcome. Errors are logged, never thrown.
   */
  onDeadLetter?(job: Job, error: Error): Promise<void>;
}

export interface WorkerOptions {
  store: Store;
  handlers: Record<string, JobHandler>;
  /** Unique per worker (process): the store lets only the lease owner settle a job. */
  owner: string;
  concurrency: number;
  leaseMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Idle sleep between lease calls when nothing wakes the worker earlier. */
  pollMs: number;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  metrics?: Metrics;
}

type Outcome = 'done' | 'retry' | 'paused' | 'dead';

type RunResult = { ok: true } | { ok: false; error: Error };

export class Worker {
  private readonly opts: WorkerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  /** Set by notify(); a sleep that starts while it is set returns at once, so no wake-up is missed. */
  private wakeRequested = false;
  private wakeSleeper: (() => void) | undefined;

  constructor(opts: WorkerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child({ component: 'worker', owner: opts.owner });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Wakes the worker now, e.g. right after an enqueue, instead of at its next poll. */
  notify(): void {
    this.wakeRequested = true;
    this.wakeSleeper?.();
  }

  /**
   * Stops leasing and waits for the jobs in flight, at most `leaseMs` (after that their leases have expired
   * and another worker may take them anyway).
   */
  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await this.loopDone;
    await waitAtMost(Promise.allSettled([...this.inFlight]), this.opts.leaseMs);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.wakeRequested = false;
      const free = this.opts.concurrency - this.inFlight.size;
      if (free > 0) for (const job of await this.leaseUpTo(free)) this.track(job);
      // Every finished job wakes the loop, so a backlog is leased as fast as slots free up; pollMs only
      // matters when nothing runnable was left (retries and pauses coming due, jobs from other instances).
      await this.sleep();
    }
  }

  /** Store errors (locked, unavailable) are logged; the loop tries again after pollMs. */
  private async leaseUpTo(limit: number): Promise<Job[]> {
    try {
      return await this.opts.store.lease({ owner: this.opts.owner, limit, leaseMs: this.opts.leaseMs });
    } catch (err) {
      this.log.error({ err }, 'lease failed');
      return [];
    }
  }

  /** Sleeps pollMs, or less when notify() is called or a running job finishes (a slot is free). */
  private sleep(): Promise<void> {
    if (this.wakeRequested || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakeSleeper = undefined;
        resolve();
      };
      const timer = setTimeout(wake, this.opts.pollMs);
      this.wakeSleeper = wake;
    });
  }

  private track(job: Job): void {
    const done: Promise<void> = this.process(job).finally(() => {
      this.inFlight.delete(done);
      this.notify();
    });
    this.inFlight.add(done);
  }

  /** Never rejects: a store error while settling is logged, and the job is retaken when its lease expires. */
  private async process(job: Job): Promise<void> {
    try {
      await this.runAndSettle(job);
    } catch (err) {
      this.log.error({ err, jobId: job.id, kind: job.kind }, 'job could not be settled; it runs again after its lease expires');
    }
  }

  private async runAndSettle(job: Job): Promise<void> {
    const handler = this.opts.handlers[job.kind];
    if (!handler) {
      return this.deadLetter(job, undefined, new PermanentError(`no handler is registered for job kind "${job.kind}"`));
    }
    if (job.attempts >= this.opts.maxAttempts) {
      const message =
        `gave up after ${job.attempts} attempts (maxAttempts ${this.opts.maxAttempts}); an earlier run ended ` +
        'without an outcome: the worker stopped or the run outlived its lease';
      return this.deadLetter(job, handler, new Error(message));
    }
    let keys: string[];
    try {
      keys = handler.pauseKeys?.(job) ?? [];
    } catch (err) {
      return this.fail(job, handler, toError(err));
    }
    const pausedUntil = await this.pauseEnd(keys);
    if (pausedUntil > this.clock()) return this.defer(job, pausedUntil, keys);
    const result = await runHandler(handler, job);
    return result.ok ? this.succeed(job) : this.fail(job, handler, result.error);
  }

  private async pauseEnd(keys: string[]): Promise<number> {
    const ends = await Promise.all(keys.map((key) => this.opts.store.pausedUntil(key)));
    return Math.max(0, ...ends);
  }

  /** The job did not run: it waits for the pause to end, and the wait is not an attempt. */
  private async defer(job: Job, until: number, keys: string[]): Promise<void> {
    const error = `waiting for paused ${keys.join(', ')} until ${new Date(until).toISOString()}`;
    const ok = await this.opts.store.retry(job.id, this.opts.owner, { runAt: until, error, countAttempt: false });
    this.settled(job, 'paused', ok);
  }

  private async succeed(job: Job): Promise<void> {
    const ok = await this.opts.store.complete(job.id, this.opts.owner);
    this.settled(job, 'done', ok);
    if (ok) this.opts.metrics?.jobLatency.observe({ kind: job.kind }, Math.max(0, this.clock() - job.createdAt) / 1000);
  }

  private async fail(job: Job, handler: JobHandler, error: Error): Promise<void> {
    if (error instanceof PermanentError) return this.deadLetter(job, handler, error);
    const now = this.clock();
    const runAt = now + retryDelay(error, job.attempts, this.backoff());
    // Pause before deciding the job's fate: the limit holds for the account's other jobs either way.
    if (error instanceof RetryableError && error.pauseKey) await this.opts.store.pause(error.pauseKey, runAt);
    if (job.attempts + 1 >= this.opts.maxAttempts) return this.deadLetter(job, handler, error);
    this.logFailure(job, error, runAt);
    const ok = await this.opts.store.retry(job.id, this.opts.owner, { runAt, error: describe(error), countAttempt: true });
    this.settled(job, 'retry', ok);
  }

  private async deadLetter(job: Job, handler: JobHandler | undefined, error: Error): Promise<void> {
    if (handler?.onDeadLetter) {
      try {
        await handler.onDeadLetter(job, error);
      } catch (err) {
        this.log.error({ err, jobId: job.id, kind: job.kind }, 'dead-letter hook failed');
      }
    }
    const ok = await this.opts.store.deadLetter(job.id, this.opts.owner, describe(error));
    if (ok) this.log.error({ err: error, jobId: job.id, kind: job.kind, attempts: job.attempts + 1 }, 'job dead-lettered');
    this.settled(job, 'dead', ok);
  }

  private logFailure(job: Job, error: Error, runAt: number): void {
    const fields = { err: error, jobId: job.id, kind: job.kind, attempts: job.attempts + 1, retryAt: new Date(runAt).toISOString() };
    if (error instanceof RetryableError) this.log.warn(fields, 'job failed, will retry');
    else this.log.error(fields, 'job failed with an unexpected error, will retry');
  }

  /** Counts an outcome only when the store accepted it; otherwise the lease was lost and another worker has the job. */
  private settled(job: Job, outcome: Outcome, ok: boolean): void {
    if (ok) this.opts.metrics?.jobs.inc({ kind: job.kind, outcome });
    else this.log.warn({ jobId: job.id, kind: job.kind, outcome }, 'lease lost before the job was settled');
  }

  private backoff() {
    return { baseMs: this.opts.backoffBaseMs, maxMs: this.opts.backoffMaxMs, random: this.opts.random };
  }
}

async function runHandler(handler: JobHandler, job: Job): Promise<RunResult> {
  try {
    await handler.run(job);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: toError(err) };
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(`non-Error thrown: ${String(err)}`);
}

/** What the store keeps as `last_error`, and what an operator reads in the dead-letter list. */
function describe(error: Error): string {
  return `${error.name}: ${error.message}`;
}

async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([promise, timeout]);
  clearTimeout(timer);
}
