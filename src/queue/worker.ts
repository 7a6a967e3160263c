/**
 * The Node pull loop: leases stored jobs, runs them concurrently (one job per conversation at a time is the
 * store's rule) through the engine-neutral runner (./run-job.ts), and settles each decision (./outcome.ts) back
 * in the store.
 *
 * Handlers must finish well within `leaseMs` (give their HTTP calls a shorter timeout): once a lease expires,
 * another worker may retake the job and this worker can no longer settle it.
 *
 * SETTLE RETRIES. A settle that fails (a database connection broken mid-flush, a SQLite lock held past its
 * timeout) is tried again in a new transaction — on PostgreSQL on another pooled connection, the broken one having
 * been discarded — after 25, 50, 100 … ms (at most 1 s apart), for as long as the job's lease lasts. Only when the
 * store stays unable to record the outcome until the lease ends does the job run again (a duplicate).
 *
 * Why here and not in the PostgreSQL engine: the deadline is the job's lease, which only the worker knows (when it
 * asked and for how long); the engine's group commit fails a whole batch of many callers' writes, and replaying
 * accepts or leases blindly is not safe the way a settle is. So every engine gets the retry, and keeps no policy.
 *
 * Why a retry never settles twice: a settle applies only while its owner holds an unexpired lease (the store's
 * check, in its SQL). If the attempt that failed did commit (the connection broke after COMMIT, before the answer),
 * the retry finds the job done, dead, pending, or leased under another owner, and changes nothing. For that the
 * owner names one lease call (`<owner>/<n>`), not the worker: with one name per worker, a retry whose lost first
 * attempt had put the job back to pending could settle it again after this same worker leased it anew, while its
 * new run was still going.
 */
import { systemClock, type Clock } from '../core/clock.js';
import { StoreCorruptError } from '../core/errors.js';
import { retryStoreWrite } from '../core/store-retry.js';
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
  /** Unique per worker (process); each lease call owns its jobs as `<owner>/<n>` (see SETTLE RETRIES). */
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

/** A job this worker holds: the lease call's owner name, and when the lease ends at the earliest (epoch ms). */
interface Lease {
  job: Job;
  owner: string;
  endsAt: number;
}

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
  private leaseCalls = 0;

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
      if (free > 0) for (const lease of await this.leaseUpTo(free)) this.track(lease);
      // Every finished job wakes the loop, so a backlog is leased as fast as slots free up; pollMs only
      // matters when nothing runnable was left (retries and pauses coming due, jobs from other instances).
      await this.sleep();
    }
  }

  /** Store errors (locked, unavailable) are logged; the loop tries again after pollMs. */
  private async leaseUpTo(limit: number): Promise<Lease[]> {
    const owner = `${this.opts.owner}/${++this.leaseCalls}`;
    // Read before the call: the store's own "now" is later, so its lease ends no earlier than this.
    const endsAt = this.clock() + this.opts.leaseMs;
    try {
      const jobs = await this.opts.store.lease({ owner, limit, leaseMs: this.opts.leaseMs });
      return jobs.map((job) => ({ job, owner, endsAt }));
    } catch (err) {
      // A corrupt store logged it once, when it broke; it refuses every lease from then on.
      if (!(err instanceof StoreCorruptError)) this.log.error({ err }, 'lease failed');
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

  private track(lease: Lease): void {
    const done: Promise<void> = this.process(lease).finally(() => {
      this.inFlight.delete(done);
      this.notify();
    });
    this.inFlight.add(done);
  }

  /** Never rejects: a store error while settling is logged, and the job is retaken when its lease expires. */
  private async process(lease: Lease): Promise<void> {
    const { job } = lease;
    try {
      await this.runAndSettle(lease);
    } catch (err) {
      // A corrupt store said so once, when it broke; a line per job in flight would bury that line.
      if (err instanceof StoreCorruptError) return;
      this.log.error({ err, jobId: job.id, kind: job.kind }, 'job could not be settled; it runs again after its lease expires');
    }
  }

  private async runAndSettle(lease: Lease): Promise<void> {
    const { job, owner } = lease;
    const decision = await runJob(job, this.runDeps);
    const { store } = this.opts;
    switch (decision.action) {
      case 'complete': {
        const ok = await this.settle(lease, () => store.complete(job.id, owner));
        this.settled(job, 'done', ok);
        if (ok) this.opts.metrics?.jobLatency.observe({ kind: job.kind }, Math.max(0, this.clock() - job.createdAt) / 1000);
        return;
      }
      case 'retry': {
        if (decision.countAttempt && !(decision.error instanceof StoreCorruptError)) this.logFailure(job, decision);
        const retry = { runAt: decision.runAt, error: describeError(decision.error), countAttempt: decision.countAttempt };
        const ok = await this.settle(lease, () => store.retry(job.id, owner, retry));
        return this.settled(job, decision.countAttempt ? 'retry' : 'paused', ok);
      }
      case 'dead': {
        const ok = await this.settle(lease, () => store.deadLetter(job.id, owner, describeError(decision.error)));
        if (ok) this.log.error({ err: decision.error, jobId: job.id, kind: job.kind, attempts: job.attempts + 1 }, 'job dead-lettered');
        return this.settled(job, 'dead', ok);
      }
    }
  }

  /** Runs a settle, and again after a failure while the lease lasts (SETTLE RETRIES); rejects with the last error. */
  private settle(lease: Lease, attempt: () => Promise<boolean>): Promise<boolean> {
    return retryStoreWrite(attempt, {
      until: lease.endsAt,
      clock: this.clock,
      onRetry: (err, retry) => this.log.warn({ err, jobId: lease.job.id, kind: lease.job.kind, retry }, 'settling the job failed; trying again'),
    });
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
