/**
 * A store write that failed (a database connection broken mid-flush, a SQLite lock held past its busy timeout) is
 * tried again in a new transaction after 25, 50, 100 … ms (at most 1 s apart) until a deadline, which is the job's
 * lease: past it another worker may have retaken the job. Only for writes that are safe to repeat (one that did
 * commit before its answer was lost changes nothing the second time). docs/architecture.md, "Settling".
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from './clock.js';
import { StoreCorruptError } from './errors.js';

const FIRST_RETRY_MS = 25;
const MAX_RETRY_MS = 1000;

export interface StoreRetryOptions {
  /** No retry starts at or after this time (epoch ms). */
  until: number;
  clock: Clock;
  /** Told of each failure that is retried (`retry` counts from 1), for a log line. */
  onRetry?: (err: unknown, retry: number) => void;
}

/** Resolves with the first attempt that succeeds; rejects with the last error. A corrupt store is never retried. */
export async function retryStoreWrite<T>(attempt: () => Promise<T>, opts: StoreRetryOptions): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt();
    } catch (err) {
      const wait = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** retry);
      if (err instanceof StoreCorruptError || opts.clock() + wait >= opts.until) throw err;
      opts.onRetry?.(err, retry + 1);
      await sleep(wait);
    }
  }
}
