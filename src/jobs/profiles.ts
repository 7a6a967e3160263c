/**
 * Customer profiles (name, username, picture) for the Genesys `from` fields: fetched once per customer,
 * cached for a day, and never in the way of a message. A failed lookup is remembered for an hour so a
 * platform that refuses (no consent yet, a blocked user) is not asked again for every message.
 * Each channel module says whether it has a profile API (ChannelConnection.profile).
 */
import type { Clock } from '../core/clock.js';
import type { CustomerProfile } from '../core/events.js';
import type { Records } from '../core/store.js';
import type { Logger } from '../logger.js';

export type ProfileFetcher = (customerId: string) => Promise<CustomerProfile>;
export type ProfileLookup = (connectionId: string, customerId: string) => Promise<CustomerProfile | undefined>;

const NAMESPACE = 'profile';
const FRESH_MS = 24 * 60 * 60 * 1000;
const RETRY_FAILED_AFTER_MS = 60 * 60 * 1000;

export function createProfileLookup(deps: {
  store: Records;
  clock: Clock;
  logger: Logger;
  /** Per connection id; connections without one have no profiles. */
  fetchers: ReadonlyMap<string, ProfileFetcher>;
}): ProfileLookup {
  // A new customer often sends several messages in a row, handled at the same time: they share one lookup.
  const inFlight = new Map<string, Promise<CustomerProfile | undefined>>();
  return (connectionId, customerId) => {
    const fetcher = deps.fetchers.get(connectionId);
    if (!fetcher) return Promise.resolve(undefined);
    const key = `${connectionId}:${customerId}`;
    let lookup = inFlight.get(key);
    if (!lookup) {
      lookup = lookUp(deps, fetcher, connectionId, customerId).finally(() => inFlight.delete(key));
      inFlight.set(key, lookup);
    }
    return lookup;
  };
}

/** The cached profile, or a fresh one (cached for a day), or nothing (remembered for an hour). */
async function lookUp(
  deps: { store: Records; clock: Clock; logger: Logger },
  fetcher: ProfileFetcher,
  connectionId: string,
  customerId: string,
): Promise<CustomerProfile | undefined> {
  const key = `${connectionId}:${customerId}`;
  const cached = await deps.store.getRecord<CustomerProfile>(NAMESPACE, key);
  if (cached) return cached;
  try {
    const profile = await fetcher(customerId);
    await deps.store.putRecord(NAMESPACE, key, profile, deps.clock() + FRESH_MS);
    return profile;
  } catch (err) {
    deps.logger.warn({ err, connectionId }, 'customer profile lookup failed; the message goes without it');
    await deps.store.putRecord(NAMESPACE, key, {}, deps.clock() + RETRY_FAILED_AFTER_MS).catch(() => undefined);
    return undefined;
  }
}
