/**
 * Runs one taken job and decides its outcome (./outcome.ts), the same way for every consumer of the queue:
 * the job's kind and payload are checked first, pauses and open breakers are honoured without counting an attempt,
 * a pause a failure asks for is recorded, the breaker of each target the job calls learns whether it answered, and
 * the handler's dead-letter hook runs before a job is given up. Settling the
 * job itself (store, queue message) is left to the consumer.
 */
import type { Clock } from '../core/clock.js';
import { PermanentError, RetryableError } from '../core/errors.js';
import type { JobRoute } from '../core/jobs.js';
import type { Job, Pauses } from '../core/store.js';
import type { Logger } from '../logger.js';
import type { BackoffOptions } from './backoff.js';
import type { Admission, Breakers } from './breaker.js';
import { decideAfterRun, decideBeforeRun, type Decision } from './outcome.js';

export interface RunJobDeps {
  routes: ReadonlyMap<string, JobRoute>;
  pauses: Pauses;
  /** The breaker of every target a job calls (its pause keys); none: no breaker. */
  breakers?: Breakers;
  clock: Clock;
  maxAttempts: number;
  backoff: BackoffOptions;
  logger: Logger;
}

/** Rejects only when the pauses cannot be read or written (a store error): the job is then taken again later. */
export async function runJob(job: Job, deps: RunJobDeps): Promise<Decision> {
  const route = deps.routes.get(job.kind);
  if (!route) return { action: 'dead', error: new PermanentError(`no handler is registered for job kind "${job.kind}"`), notify: false };
  const checked = route.kind.check(job.payload);
  if (!checked.ok) {
    const error = new PermanentError(
      `the payload of this ${job.kind} job is not one this version of dmbridge can run (${checked.error}); ` +
        'it was written by another version: requeue it after upgrading to a version that reads it',
    );
    return { action: 'dead', error, notify: false };
  }
  const { payload } = checked;
  const { handler } = route;
  const state = { attempts: job.attempts, maxAttempts: deps.maxAttempts, now: deps.clock() };
  let decision: Decision | 'run';
  let admissions: Admission[] = [];
  try {
    const pauseKeys = handler.pauseKeys?.(payload, job) ?? [];
    const pausedUntil = Math.max(0, ...(await Promise.all(pauseKeys.map((key) => deps.pauses.pausedUntil(key)))));
    decision = decideBeforeRun({ ...state, pausedUntil, pauseKeys });
    if (decision === 'run' && deps.breakers) {
      admissions = await Promise.all(pauseKeys.map((key) => deps.breakers!.admit(key)));
      decision = heldByBreaker(admissions) ?? 'run';
      if (decision !== 'run') await Promise.all(admissions.map((a) => deps.breakers!.release(a)));
    }
  } catch (err) {
    decision = decideAfterRun({ ...state, error: toError(err), backoff: deps.backoff });
  }
  if (decision === 'run') {
    const error = await runHandler(() => handler.run(payload, job));
    // The target did not answer (a timeout, a 5xx): its breaker counts it. A rate limit or a refusal is an answer.
    const unanswered = error instanceof RetryableError && error.pauseKey === undefined;
    await Promise.all(admissions.map((a) => (unanswered ? deps.breakers!.failed(a) : deps.breakers!.succeeded(a))));
    // The clock is read after the run: a Retry-After counts from the answer, not from when the call started.
    decision = decideAfterRun({ ...state, now: deps.clock(), error, backoff: deps.backoff });
  }
  if (decision.action !== 'complete' && decision.pause) await deps.pauses.pause(decision.pause.key, decision.pause.until);
  if (decision.action === 'dead' && decision.notify && handler.onDeadLetter) {
    try {
      await handler.onDeadLetter(payload, decision.error, job);
    } catch (err) {
      deps.logger.error({ err, jobId: job.id, kind: job.kind }, 'dead-letter hook failed');
    }
  }
  return decision;
}

/** While a target's breaker is open (or another job probes it), the job waits without counting an attempt. */
function heldByBreaker(admissions: readonly Admission[]): Decision | undefined {
  const held = admissions.filter((a): a is Extract<Admission, { run: false }> => !a.run);
  if (held.length === 0) return undefined;
  const until = Math.max(...held.map((a) => a.until));
  const error = new Error(`waiting for ${held.map((a) => a.target).join(', ')}: its breaker is open until ${new Date(until).toISOString()}`);
  return { action: 'retry', runAt: until, countAttempt: false, error, unexpected: false };
}

async function runHandler(run: () => Promise<void>): Promise<Error | undefined> {
  try {
    await run();
    return undefined;
  } catch (err) {
    return toError(err);
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(`non-Error thrown: ${String(err)}`);
}
