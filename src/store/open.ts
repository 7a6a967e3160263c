import type { Clock, Store } from './store.js';
import { openPostgresStore, type PostgresStoreOptions } from './postgres.js';
import { openSqliteStore } from './sqlite.js';

export interface OpenStoreOptions {
  clock?: Clock;
  /** Pool and schema settings, used only by a `postgres://` store. */
  postgres?: Omit<PostgresStoreOptions, 'clock'>;
}

/**
 * Opens the store named by the `store:` setting: `sqlite:<path>` (`sqlite::memory:` for throwaway runs) or
 * `postgres://…` / `postgresql://…` (a libpq-style connection URL).
 */
export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const { clock, postgres } = opts;
  if (url.startsWith('sqlite:')) return openSqliteStore(url.slice('sqlite:'.length), clock ? { clock } : {});
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return openPostgresStore(url, { ...postgres, ...(clock ? { clock } : {}) });
  }
  throw new Error(`unsupported store URL "${url.replace(/\/\/[^@/]*@/, '//***@')}"`);
}
