/**
 * Work done a slice at a time: between slices of at most SLICE_MS the event loop gets its turn (timers, other
 * requests), so one large webhook never blocks it for long (issue 12's 50 ms budget).
 */
import { setImmediate as turn } from 'node:timers/promises';

const SLICE_MS = 8;

/** The items one by one, with a turn of the event loop whenever the caller's work on them has taken SLICE_MS. */
export async function* inSlices<T>(items: readonly T[]): AsyncGenerator<T> {
  let sliceStart = performance.now();
  for (const item of items) {
    yield item;
    if (performance.now() - sliceStart > SLICE_MS) {
      await turn();
      sliceStart = performance.now();
    }
  }
}
