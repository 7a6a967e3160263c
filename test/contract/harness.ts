/**
 * Shared set-up of the store role suites: each test gets a fresh, empty store and a manual clock, starting at
 * START, that it advances itself.
 *
 * START lies in the future: DynamoDB (and DynamoDB Local) delete items whose time-to-live has passed by the
 * wall clock, within a second or so locally, which would delete what a test with a clock in the past still
 * reads. The stores' own expiry rules go by the injected clock.
 */
import { afterEach, beforeEach } from 'vitest';
import type { Clock } from '../../src/core/clock.js';

export const DAY_MS = 24 * 60 * 60 * 1000;
export const START = Date.UTC(2100, 0, 1);

export type MakeStore<S> = (clock: Clock) => Promise<S>;

/** `store` and `now` of the running test. */
export interface StoreUnderTest<S> {
  readonly store: S;
  now: number;
}

export function freshStorePerTest<S extends { close(): Promise<void> }>(makeStore: MakeStore<S>): StoreUnderTest<S> {
  let store: S | undefined;
  const t = {
    now: START,
    get store(): S {
      if (!store) throw new Error('the store is opened before each test');
      return store;
    },
  };
  beforeEach(async () => {
    t.now = START;
    store = await makeStore(() => t.now);
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });
  return t;
}
