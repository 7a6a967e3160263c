/**
 * Issue 12's budget of event-loop time: no single request or job may block the event loop for more than 50 ms,
 * since timers (leases, deadlines) and every other request wait meanwhile.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export const EVENT_LOOP_BUDGET_MS = 50;

/**
 * The longest the event loop stayed blocked while `run` ran: the largest delay `monitorEventLoopDelay` saw. The
 * machines running the tests share 2 cores with other work, so one attempt can be preempted for tens of
 * milliseconds; the best of three attempts is kept. Work that grows faster than its input (what the budget is
 * about: seconds, not milliseconds) blocks every attempt, so the bound keeps its meaning.
 */
export async function eventLoopBlockingMs(run: () => void): Promise<number> {
  let best = Infinity;
  for (let attempt = 0; attempt < 3 && best > EVENT_LOOP_BUDGET_MS; attempt++) {
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    await sleep(5);
    run();
    await sleep(5); // the late timer tick lands in the histogram
    histogram.disable();
    best = Math.min(best, histogram.max / 1e6);
  }
  return best;
}

/** As `eventLoopBlockingMs`, for work that awaits (a whole request through the bridge). */
export async function eventLoopBlockingDuringMs(run: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let attempt = 0; attempt < 3 && best > EVENT_LOOP_BUDGET_MS; attempt++) {
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    await sleep(5);
    await run();
    await sleep(5);
    histogram.disable();
    best = Math.min(best, histogram.max / 1e6);
  }
  return best;
}
