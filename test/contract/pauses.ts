/** The Pauses role (src/core/store.ts): shared pauses that never shorten. */
import { describe, expect, it } from 'vitest';
import type { Maintenance, Pauses } from '../../src/core/store.js';
import { freshStorePerTest, type MakeStore } from './harness.js';

export function pausesContract(makeStore: MakeStore<Pauses & Pick<Maintenance, 'close'>>): void {
  describe('pauses', () => {
    const t = freshStorePerTest(makeStore);

    it('reports 0 for a key that was never paused or whose pause ended', async () => {
      const { store } = t;
      expect(await store.pausedUntil('ig:1')).toBe(0);
      await store.pause('ig:1', t.now + 1000);
      t.now += 1000;
      expect(await store.pausedUntil('ig:1')).toBe(0);
    });

    it('extends a pause but never shortens it', async () => {
      const { store, now } = t;
      await store.pause('ig:1', now + 60_000);
      await store.pause('ig:1', now + 1_000);
      expect(await store.pausedUntil('ig:1')).toBe(now + 60_000);
      await store.pause('ig:1', now + 120_000);
      expect(await store.pausedUntil('ig:1')).toBe(now + 120_000);
      expect(await store.pausedUntil('ig:2')).toBe(0);
    });
  });
}
