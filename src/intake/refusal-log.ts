/**
 * Log lines for refused unauthenticated requests (a bad or missing signature, an unknown connection), aggregated
 * so that a flood of them cannot fill the disk: the first refusal of a kind (route and reason) is logged at once,
 * the rest are counted and written as one line per interval. A kind that stayed quiet for a whole interval is
 * logged at once again the next time. Nothing a request carries is logged, only the route and the reason.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../logger.js';

/** Starts a repeating tick; tests drive their own. */
export type Ticker = (everyMs: number, tick: () => void) => { stop(): void };

const intervalTicker: Ticker = (everyMs, tick) => {
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
};

export interface RefusalLogDeps {
  logger: Logger;
  clock: Clock;
  /** Default one minute. */
  intervalMs?: number;
  ticker?: Ticker;
}

/** Kinds are few (routes × reasons); past this many, refusals are counted under one. */
const MAX_KINDS = 64;
const OTHER_KIND = 'other';

export class RefusalLog {
  /** Refusals counted since the last line, per kind; a kind present with 0 was logged at once this interval. */
  private readonly counts = new Map<string, number>();
  private readonly intervalMs: number;
  private windowStart: number;
  private readonly ticker: { stop(): void };

  constructor(private readonly deps: RefusalLogDeps) {
    this.intervalMs = deps.intervalMs ?? 60_000;
    this.windowStart = deps.clock();
    this.ticker = (deps.ticker ?? intervalTicker)(this.intervalMs, () => this.flush());
  }

  /** One refused request on `route` (e.g. `genesys`) for `reason` (e.g. `signature_mismatch`). */
  refused(route: string, reason: string): void {
    const kind = this.counts.size >= MAX_KINDS && !this.counts.has(`${route}:${reason}`) ? OTHER_KIND : `${route}:${reason}`;
    const count = this.counts.get(kind);
    if (count === undefined) {
      this.counts.set(kind, 0);
      this.deps.logger.warn({ route, reason }, 'webhook refused');
    } else this.counts.set(kind, count + 1);
  }

  /** Writes what was counted since the last line, if anything, and starts a new interval. */
  flush(): void {
    const now = this.deps.clock();
    const refused: Record<string, number> = {};
    let total = 0;
    for (const [kind, count] of this.counts) {
      // A kind quiet since its first line is forgotten, so its next refusal is logged at once.
      if (count === 0) {
        this.counts.delete(kind);
        continue;
      }
      refused[kind] = count;
      total += count;
      this.counts.set(kind, 0);
    }
    if (total > 0) this.deps.logger.warn({ refused, total, sinceMs: now - this.windowStart }, 'webhook refusals');
    this.windowStart = now;
  }

  /** Writes what is left and stops the ticks. */
  close(): void {
    this.ticker.stop();
    this.flush();
  }
}
