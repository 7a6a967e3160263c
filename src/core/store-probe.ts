/** The write probe `/readyz` and `dmbridge doctor` run against the store. */
import { randomUUID } from 'node:crypto';
import type { Records } from './store.js';

const PROBE_TTL_MS = 60_000;

/**
 * Writes a fresh token under `namespace`/`key` (kept a minute) and reads it back: false when the store returned
 * something else. Throws what the store threw when it cannot write or read.
 */
export async function storeReturnsWhatItStores(records: Records, namespace: string, key: string, now: number): Promise<boolean> {
  const token = randomUUID();
  await records.putRecord(namespace, key, { token }, now + PROBE_TTL_MS);
  const read = await records.getRecord<{ token: string }>(namespace, key);
  return read?.token === token;
}
