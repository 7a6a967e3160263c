/**
 * Opens the SQLite engine (`store: sqlite:<path>`): the file, WAL mode, a check that the file is not damaged,
 * the schema brought up to date.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '../../core/clock.js';
import { silentLogger, type Logger } from '../../logger.js';
import { checkAtStart, corruptAtStart, isCorruption } from './corruption.js';
import { migrate } from './schema.js';
import { SqliteStore } from './store.js';

export { SqliteStore } from './store.js';
export { LEASE_SQL } from './statements.js';

export interface SqliteStoreOptions {
  clock?: Clock;
  /** Enqueue commits: FULL (default) survives power loss; NORMAL survives a process crash only, for throwaway setups. */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * How long a write waits for another process's transaction before failing with SQLITE_BUSY (default 5 s). The
   * wait is asynchronous (./store.ts): the process keeps answering meanwhile.
   */
  busyTimeoutMs?: number;
  /** Where the one line about a file that became corrupt while running goes. */
  logger?: Logger;
}

/** Throws a StoreCorruptError (naming the file and what to do) when the file is damaged. */
export function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
  if (path !== ':memory:' && path !== '') mkdirSync(dirname(path), { recursive: true });
  const busyTimeoutMs = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000));
  const db = new Database(path);
  try {
    // Nothing else runs yet, so the start may wait synchronously (another process migrating, a CLI command).
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('journal_mode = WAL');
    checkAtStart(db, path);
    migrate(db);
  } catch (err) {
    db.close();
    throw isCorruption(err) ? corruptAtStart(path, (err as Error).message) : err;
  }
  return new SqliteStore(db, {
    path,
    clock: opts.clock ?? systemClock,
    enqueueSync: opts.synchronous ?? 'FULL',
    busyTimeoutMs,
    logger: opts.logger ?? silentLogger,
  });
}
