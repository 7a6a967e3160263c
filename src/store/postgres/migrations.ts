/** The PostgreSQL schema and how it is brought up to date, safely when several instances start at once. */
import type pg from 'pg';
import { checkOut } from './pool.js';

/**
 * Schema migrations, applied in order, one transaction each, recorded in `schema_migrations`. `{s}` is the
 * schema. Append, never edit.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE {s}.jobs (
    id               bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- never reused: ids are stable job ids
    dedupe_key       text    NOT NULL,
    conversation_key text    NOT NULL,
    kind             text    NOT NULL,
    payload          text    NOT NULL,                   -- JSON, kept as written
    state            text    NOT NULL CHECK (state IN ('pending', 'leased', 'done', 'dead')),
    head             boolean NOT NULL DEFAULT false,     -- the job of its conversation that runs next
    attempts         integer NOT NULL DEFAULT 0,
    run_at           bigint  NOT NULL,                   -- epoch ms, like every time below
    lease_owner      text,
    lease_until      bigint,
    last_error       text,
    created_at       bigint  NOT NULL,
    finished_at      bigint
  ) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
  CREATE INDEX jobs_active ON {s}.jobs (conversation_key, id) WHERE state IN ('pending', 'leased');
  CREATE INDEX jobs_ready  ON {s}.jobs (run_at, id) WHERE head AND state = 'pending';
  CREATE INDEX jobs_leased ON {s}.jobs (lease_until) WHERE state = 'leased';
  CREATE INDEX jobs_done   ON {s}.jobs (finished_at) WHERE state = 'done';
  CREATE INDEX jobs_dead   ON {s}.jobs (finished_at, id) WHERE state = 'dead';
  CREATE UNIQUE INDEX jobs_one_head ON {s}.jobs (conversation_key) WHERE head;
  CREATE TABLE {s}.lanes (conversation_key text PRIMARY KEY); -- one lock row per conversation, see the file comment
  CREATE TABLE {s}.dedupe (key text PRIMARY KEY, created_at bigint NOT NULL);
  CREATE INDEX dedupe_created ON {s}.dedupe (created_at);
  CREATE TABLE {s}.pauses (key text PRIMARY KEY, until bigint NOT NULL);
  CREATE TABLE {s}.conversations (
    key                    text    PRIMARY KEY,
    last_inbound_at        bigint,
    customer_messages      integer NOT NULL DEFAULT 0,
    replies_since_customer integer NOT NULL DEFAULT 0,
    thread_id              text
  );
  CREATE TABLE {s}.locks (name text PRIMARY KEY, owner text NOT NULL, until bigint NOT NULL);
  CREATE TABLE {s}.records (
    namespace  text   NOT NULL,
    key        text   NOT NULL,
    value      text   NOT NULL, -- JSON
    expires_at bigint NOT NULL,
    PRIMARY KEY (namespace, key)
  );
  CREATE INDEX records_expiry ON {s}.records (expires_at);
  `,
];

/**
 * Applies the missing migrations, each in its own transaction under a transaction-level advisory lock on the
 * schema name, so instances starting together apply each migration exactly once and wait for each other.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  const s = `"${schema}"`;
  const { client, release } = await checkOut(pool);
  try {
    const inLockedTransaction = async (fn: (applied: number) => Promise<void>) => {
      await client.query('BEGIN');
      // A migration may wait for another instance's; that is not a slow statement.
      await client.query(`SET LOCAL statement_timeout = '5min'`);
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`dmbridge:migrate:${schema}`]);
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
        version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await client.query<{ v: number }>(`SELECT coalesce(max(version), 0)::int AS v FROM ${s}.schema_migrations`);
      const applied = rows[0]!.v;
      if (applied > MIGRATIONS.length) {
        throw new Error(
          `database schema version ${applied} (schema ${schema}) is newer than this dmbridge supports (${MIGRATIONS.length}); upgrade dmbridge`,
        );
      }
      await fn(applied);
      await client.query('COMMIT');
    };
    let applied = 0;
    await inLockedTransaction(async (v) => void (applied = v));
    for (let version = applied + 1; version <= MIGRATIONS.length; version++) {
      await inLockedTransaction(async (current) => {
        if (current >= version) return; // another instance got there first
        await client.query(MIGRATIONS[version - 1]!.replaceAll('{s}', s));
        await client.query(`INSERT INTO ${s}.schema_migrations (version) VALUES ($1)`, [version]);
      });
    }
    release();
  } catch (err) {
    release(err);
    throw err;
  }
}
