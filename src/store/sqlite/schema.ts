/**
 * The SQLite schema: migrations applied in order, `PRAGMA user_version` recording how many have run. The column
 * meanings are shared with the PostgreSQL schema (src/store/rows.ts maps both).
 */
import type Database from 'better-sqlite3';

/** Schema migrations, applied in order; `PRAGMA user_version` records how many have run. Append, never edit. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused after a purge: ids are stable job ids
    dedupe_key       TEXT    NOT NULL,
    conversation_key TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    payload          TEXT    NOT NULL,                  -- JSON
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'leased', 'done', 'dead')),
    head             INTEGER NOT NULL DEFAULT 0,        -- 1: the job of its conversation that runs next
    attempts         INTEGER NOT NULL DEFAULT 0,
    run_at           INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_until      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
  );
  CREATE INDEX jobs_active ON jobs (conversation_key, id) WHERE state IN ('pending', 'leased');
  CREATE INDEX jobs_ready  ON jobs (run_at, id) WHERE head = 1 AND state = 'pending';
  CREATE INDEX jobs_leased ON jobs (lease_until) WHERE state = 'leased';
  CREATE INDEX jobs_done   ON jobs (finished_at) WHERE state = 'done';
  CREATE INDEX jobs_dead   ON jobs (finished_at, id) WHERE state = 'dead';
  CREATE TABLE dedupe (key TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX dedupe_created ON dedupe (created_at);
  CREATE TABLE pauses (key TEXT PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID;
  `,
  `
  CREATE TABLE conversations (
    key                    TEXT PRIMARY KEY,
    last_inbound_at        INTEGER,
    customer_messages      INTEGER NOT NULL DEFAULT 0,
    replies_since_customer INTEGER NOT NULL DEFAULT 0,
    thread_id              TEXT
  ) WITHOUT ROWID;
  CREATE TABLE locks (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE records (
    namespace  TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL, -- JSON
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
  ) WITHOUT ROWID;
  CREATE INDEX records_expiry ON records (expires_at);
  `,
];

export function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`database schema version ${version} is newer than this dmbridge supports (${MIGRATIONS.length}); upgrade dmbridge`);
  }
  immediate(db, () => {
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}

/** BEGIN IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read lock. */
export function immediate<A extends unknown[], R>(db: Database.Database, fn: (...args: A) => R): (...args: A) => R {
  const tx = db.transaction(fn);
  return (...args: A) => tx.immediate(...args);
}
