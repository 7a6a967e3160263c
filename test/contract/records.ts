/** The Records role (src/core/store.ts): small JSON records that expire. */
import { describe, expect, it } from 'vitest';
import type { Maintenance, Records } from '../../src/core/store.js';
import { DAY_MS, freshStorePerTest, type MakeStore } from './harness.js';

export function recordsContract(makeStore: MakeStore<Records & Maintenance>): void {
  describe('records', () => {
    const t = freshStorePerTest(makeStore);

    it('reads back what was put, replaces on put, and keeps namespaces apart', async () => {
      const { store, now } = t;
      await store.putRecord('link', 'm1', { genesysId: 'g1', parts: [1, 2] }, now + DAY_MS);
      await store.putRecord('profile', 'm1', { name: 'Jane' }, now + DAY_MS);
      expect(await store.getRecord('link', 'm1')).toEqual({ genesysId: 'g1', parts: [1, 2] });
      await store.putRecord('link', 'm1', { genesysId: 'g2' }, now + DAY_MS);
      expect(await store.getRecord('link', 'm1')).toEqual({ genesysId: 'g2' });
      expect(await store.getRecord('profile', 'm1')).toEqual({ name: 'Jane' });
      expect(await store.getRecord('link', 'nope')).toBeUndefined();
    });

    it('reads an expired record as absent and purges it', async () => {
      const { store } = t;
      await store.putRecord('profile', 'u1', { name: 'Jane' }, t.now + 1000);
      await store.putRecord('profile', 'u2', { name: 'Joe' }, t.now + DAY_MS);
      t.now += 1000;
      expect(await store.getRecord('profile', 'u1')).toBeUndefined();
      await store.purge({ dedupeBefore: 0, doneBefore: 0 });
      t.now -= 1000; // an expired record stays gone even for a clock that went back
      expect(await store.getRecord('profile', 'u1')).toBeUndefined();
      expect(await store.getRecord('profile', 'u2')).toEqual({ name: 'Joe' });
    });
  });
}
