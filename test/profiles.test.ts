import { afterEach, describe, expect, it } from 'vitest';
import type { CustomerProfile } from '../src/core/events.js';
import { createProfileLookup, type ProfileFetcher } from '../src/jobs/profiles.js';
import { silentLogger } from '../src/logger.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';

const HOUR = 60 * 60 * 1000;
let store: SqliteStore;
let now = Date.UTC(2026, 10, 27, 9);

afterEach(async () => {
  await store.close();
});

function lookupWith(fetcher: ProfileFetcher) {
  store = openSqliteStore(':memory:', { clock: () => now });
  return createProfileLookup({ store, clock: () => now, logger: silentLogger, fetchers: new Map([['ig-main', fetcher]]) });
}

function counting(answer: () => Promise<CustomerProfile>) {
  const calls: string[] = [];
  const fetcher: ProfileFetcher = async (customerId) => {
    calls.push(customerId);
    await new Promise((r) => setTimeout(r, 20));
    return answer();
  };
  return { calls, fetcher };
}

describe('customer profile lookup', () => {
  it('asks the platform once for a burst of messages from a new customer, and gives each the profile', async () => {
    const { calls, fetcher } = counting(async () => ({ name: 'Jane Doe', username: 'jane.doe' }));
    const lookup = lookupWith(fetcher);
    const profiles = await Promise.all(Array.from({ length: 5 }, () => lookup('ig-main', '1784')));
    expect(calls).toEqual(['1784']);
    expect(profiles).toEqual(Array(5).fill({ name: 'Jane Doe', username: 'jane.doe' }));
    expect(await lookup('ig-main', '1784')).toEqual({ name: 'Jane Doe', username: 'jane.doe' });
    expect(calls).toEqual(['1784']);
  });

  it('remembers a failed lookup for an hour, then asks again', async () => {
    const { calls, fetcher } = counting(async () => Promise.reject(new Error('(#230) User consent is required')));
    const lookup = lookupWith(fetcher);
    expect(await Promise.all([lookup('ig-main', '42'), lookup('ig-main', '42')])).toEqual([undefined, undefined]);
    expect(await lookup('ig-main', '42')).toEqual({});
    expect(calls).toHaveLength(1);
    now += HOUR + 1;
    await lookup('ig-main', '42');
    expect(calls).toHaveLength(2);
  });

  it('looks nothing up for a connection without a profile source', async () => {
    const { calls, fetcher } = counting(async () => ({ name: 'x' }));
    const lookup = lookupWith(fetcher);
    expect(await lookup('tt-main', '42')).toBeUndefined();
    expect(calls).toEqual([]);
  });
});
