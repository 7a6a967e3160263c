/**
 * Retry delays. Full jitter (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/):
 * the delay is uniform in [0, min(maxMs, baseMs * 2^attempt)), so many jobs that failed together (an outage
 * of the far side) come back spread out instead of in one synchronised wave.
 */
import { RetryableError } from '../core/errors.js';

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Uniform in [0, 1); injected by tests. */
  random?: () => number;
}

/** `attempt` is the number of failed attempts before this one (0 after the first failure). */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor((opts.random ?? Math.random)() * ceiling);
}

/**
 * The backoff, but never sooner than the other side asked for (`Retry-After`). A Retry-After longer than
 * `maxMs` is still honoured: retrying earlier would only be refused again.
 */
export function retryDelay(err: unknown, attempt: number, opts: BackoffOptions): number {
  const asked = err instanceof RetryableError ? err.retryAfterMs : undefined;
  const askedMs = asked !== undefined && Number.isFinite(asked) ? Math.max(0, Math.ceil(asked)) : 0;
  return Math.max(backoffDelay(attempt, opts), askedMs);
}
