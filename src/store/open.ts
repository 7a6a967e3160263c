import type { Clock, Store } from './store.js';
import { openSqliteStore } from './sqlite.js';

/** Opens the store named by the `store:` setting (`sqlite:<path>`; `sqlite::memory:` for throwaway runs). */
export async function openStore(url: string, clock?: Clock): Promise<Store> {
  if (url.startsWith('sqlite:')) return openSqliteStore(url.slice('sqlite:'.length), clock ? { clock } : {});
  throw new Error(`unsupported store URL "${url}"`);
}
