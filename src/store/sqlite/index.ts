/** Opens the SQLite engine (`store: sqlite:<path>`): the file, WAL mode, the schema brought up to date. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '../../core/clock.js';
import { migrate } from './schema.js';
import { SqliteStore } from './store.js';

export { SqliteStore } from './store.js';
export { LEASE_SQL } from './statements.js';

export interface SqliteStoreOptions {
  clock?: Clock;
  /** Enqueue commits: FULL (default) survives power loss; NORMAL survives a process crash only, for throwaway setups. */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long a write waits for another process's transaction before failing with SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

export function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
  if (path !== ':memory:' && path !== '') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteStore(db, opts.clock ?? systemClock, opts.synchronous ?? 'FULL');
}
