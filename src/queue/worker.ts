/**
 * The Node pull loop: leases stored jobs, runs them concurrently (one job per conversation at a time is the
 * store's rule) through the engine-neutral runner (./run-job.ts), and settles each decision (./outcome.ts) back
 * in the store.
 *
 * Handlers must finish well within `leaseMs` (give their HTTP calls a shorter timeout): once a lease expires,
 * another worker may retake the job and this worker can no longer settle it.
 */
import { systemClock, type Clock } from '../core/clock.js';
import type { JobRoute } from '../core/jobs.js';
import type { Job, LeasedQueue, Pauses } from '../core/store.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Breakers } from './breaker.js';
import { describeError, type Decision } from './outcome.js';
import { runJob, type RunJobDeps } from './run-job.js';

export interface WorkerOptions {
  store: LeasedQueue & Pauses;
  breakers?: Breakers;
  routes: ReadonlyMap<string, JobRoute>;
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

/** What a settled job counts as in `dmbridge_jobs_total`. */
type Outcome = 'done' | 'retry' | 'paused' | 'dead';

export class Worker {
  private readonly opts: WorkerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly runDeps: RunJobDeps;
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  /** Set by notify(); a sleep that starts while it is set returns at once, so no wake-up is missed. */
  private wakeRequested = false;
  private wakeSleeper: (() => void) | undefined;
  private progressAt = 0;

  constructor(opts: WorkerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? silentLogger).child({ component: 'worker', owner: opts.owner });
    this.runDeps = {
      routes: opts.routes,
      pauses: opts.store,
      ...(opts.breakers ? { breakers: opts.breakers } : {}),
      clock: this.clock,
      maxAttempts: opts.maxAttempts,
      backoff: { baseMs: opts.backoffBaseMs, maxMs: opts.backoffMaxMs, ...(opts.random ? { random: opts.random } : {}) },
      logger: this.log,
    };
  }

  /** When a job was last settled (or the worker started), epoch ms: the readiness probe's sign of progress. */
  get lastProgressAt(): number {
    return this.progressAt;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.progressAt = this.clock();
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
    const decision = await runJob(job, this.runDeps);
    const { store, owner } = this.opts;
    switch (decision.action) {
      case 'complete': {
        const ok = await store.complete(job.id, owner);
        this.settled(job, 'done', ok);
        if (ok) this.opts.metrics?.jobLatency.observe({ kind: job.kind }, Math.max(0, this.clock() - job.createdAt) / 1000);
        return;
      }
      case 'retry': {
        if (decision.countAttempt) this.logFailure(job, decision);
        const ok = await store.retry(job.id, owner, { runAt: decision.runAt, error: describeError(decision.error), countAttempt: decision.countAttempt });
        return this.settled(job, decision.countAttempt ? 'retry' : 'paused', ok);
      }
      case 'dead': {
        const ok = await store.deadLetter(job.id, owner, describeError(decision.error));
        if (ok) this.log.error({ err: decision.error, jobId: job.id, kind: job.kind, attempts: job.attempts + 1 }, 'job dead-lettered');
        return this.settled(job, 'dead', ok);
      }
    }
  }

  private logFailure(job: Job, decision: Extract<Decision, { action: 'retry' }>): void {
    const fields = { err: decision.error, jobId: job.id, kind: job.kind, attempts: job.attempts + 1, retryAt: new Date(decision.runAt).toISOString() };
    if (decision.unexpected) this.log.error(fields, 'job failed with an unexpected error, will retry');
    else this.log.warn(fields, 'job failed, will retry');
  }

  /** Counts an outcome only when the store accepted it; otherwise the lease was lost and another worker has the job. */
  private settled(job: Job, outcome: Outcome, ok: boolean): void {
    this.progressAt = this.clock();
    if (ok) this.opts.metrics?.jobs.inc({ kind: job.kind, outcome });
    else this.log.warn({ jobId: job.id, kind: job.kind, outcome }, 'lease lost before the job was settled');
  }
}

async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([promise, timeout]);
  clearTimeout(timer);
}
