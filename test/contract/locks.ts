/** The Locks role (src/core/store.ts): one holder at a time across every instance on the store. */
import { describe, expect, it } from 'vitest';
import type { Locks, Maintenance } from '../../src/core/store.js';
import { freshStorePerTest, type MakeStore } from './harness.js';

export function locksContract(makeStore: MakeStore<Locks & Pick<Maintenance, 'close'>>): void {
  describe('locks', () => {
    const t = freshStorePerTest(makeStore);

    it('lets one owner hold a lock until it is released or expires', async () => {
      const { store } = t;
      expect(await store.acquireLock('refresh:acme', 'a', t.now + 10_000)).toBe(true);
      expect(await store.acquireLock('refresh:acme', 'b', t.now + 10_000)).toBe(false);
      expect(await store.acquireLock('refresh:acme', 'a', t.now + 20_000)).toBe(true); // the holder extends it
      expect(await store.acquireLock('refresh:other', 'b', t.now + 10_000)).toBe(true);
      await store.releaseLock('refresh:acme', 'b'); // not the holder: no effect
      expect(await store.acquireLock('refresh:acme', 'b', t.now + 10_000)).toBe(false);
      await store.releaseLock('refresh:acme', 'a');
      expect(await store.acquireLock('refresh:acme', 'b', t.now + 10_000)).toBe(true);
      t.now += 10_001; // b's hold lapsed
      expect(await store.acquireLock('refresh:acme', 'c', t.now + 10_000)).toBe(true);
    });

    it('gives a free lock to exactly one of many concurrent callers', async () => {
      const { store } = t;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.acquireLock('refresh:x', `owner-${i}`, t.now + 10_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}
