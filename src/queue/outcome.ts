/**
 * What to do with a job, decided from what happened to it: a pure function of the attempt count, the clock and
 * the error, shared by every consumer of the queue (the Node pull loop, a queue-triggered function). Applying
 * the decision (settling in the store, changing a message's visibility) is the consumer's part.
 *
 * Rules:
 * - success → complete.
 * - PermanentError → dead letter at once: sending it again can only fail again.
 * - RetryableError → retry at now + max(backoff, Retry-After). With a `pauseKey` (a rate limit on an account or
 *   OAuth client) the key is also paused until then, so every other job using it waits instead of hitting the
 *   limit again.
 * - any other error is a bug somewhere: retried like a RetryableError, and said to be unexpected.
 * - A failed run counts as an attempt, rate-limited runs included (the call was made and refused): the backoff
 *   keeps growing and a job that is rate-limited forever still ends. A job that only waited for a paused key did
 *   not run and is not counted, so a long pause never dead-letters the jobs queued behind it.
 * - The run that reaches `maxAttempts` is dead-lettered with its error instead of retried.
 * - A job taken with `attempts >= maxAttempts` (its earlier runs ended without an outcome: the worker crashed or
 *   the run outlived its lease) is dead-lettered without running, so a job that kills its worker cannot loop.
 */
import { PermanentError, RetryableError } from '../core/errors.js';
import { retryDelay, type BackoffOptions } from './backoff.js';

export type Decision =
  | { action: 'complete' }
  /** Run again at `runAt`; `countAttempt` false when the job did not run (it waited for a pause). */
  | { action: 'retry'; runAt: number; countAttempt: boolean; error: Error; unexpected: boolean; pause?: Pause }
  /** The far side must learn the outcome (`notify`) unless no handler exists to tell it. */
  | { action: 'dead'; error: Error; notify: boolean; pause?: Pause };

export interface Pause {
  key: string;
  until: number;
}

export interface AttemptState {
  /** Attempts made before this run. */
  attempts: number;
  maxAttempts: number;
  now: number;
}

/** Before running: `run`, or a decision that spares the handler. */
export function decideBeforeRun(state: AttemptState & { pausedUntil: number; pauseKeys: readonly string[] }): Decision | 'run' {
  if (state.attempts >= state.maxAttempts) {
    const error = new Error(
      `gave up after ${state.attempts} attempts (maxAttempts ${state.maxAttempts}); an earlier run ended without an ` +
        'outcome: the worker stopped or the run outlived its lease',
    );
    return { action: 'dead', error, notify: true };
  }
  if (state.pausedUntil > state.now) {
    const error = new Error(`waiting for paused ${state.pauseKeys.join(', ')} until ${new Date(state.pausedUntil).toISOString()}`);
    return { action: 'retry', runAt: state.pausedUntil, countAttempt: false, error, unexpected: false };
  }
  return 'run';
}

/** After running: `error` undefined is a success. */
export function decideAfterRun(state: AttemptState & { error: Error | undefined; backoff: BackoffOptions }): Decision {
  const { error } = state;
  if (error === undefined) return { action: 'complete' };
  if (error instanceof PermanentError) return { action: 'dead', error, notify: true };
  const runAt = state.now + retryDelay(error, state.attempts, state.backoff);
  // The limit holds for the account's other jobs whatever becomes of this one.
  const pause = error instanceof RetryableError && error.pauseKey ? { pause: { key: error.pauseKey, until: runAt } } : {};
  if (state.attempts + 1 >= state.maxAttempts) return { action: 'dead', error, notify: true, ...pause };
  return { action: 'retry', runAt, countAttempt: true, error, unexpected: !(error instanceof RetryableError), ...pause };
}

/** What the store keeps as `last_error`, and what an operator reads in the dead-letter list. */
export function describeError(error: Error): string {
  return `${error.name}: ${error.message}`;
}
