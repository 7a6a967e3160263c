/** Every statement of the SQLite engine, prepared once per database. */
import type Database from 'better-sqlite3';

/** Rows deleted per purge transaction, so a large purge never blocks the event loop for long. */
export const PURGE_CHUNK = 5000;

const ACTIVE = `state IN ('pending', 'leased')`;

/** A lease is valid up to and including `lease_until`; `lease` retakes it only once `lease_until < now`. */
const OWNED = `id = @id AND state = 'leased' AND lease_owner = @owner AND lease_until >= @now`;

export const SQL = {
  insertDedupe: `INSERT OR IGNORE INTO dedupe (key, created_at) VALUES (?, ?)`,
  insertJob: `
    INSERT INTO jobs (dedupe_key, conversation_key, kind, payload, state, head, run_at, created_at)
    VALUES (@dedupeKey, @conversationKey, @kind, @payload, 'pending',
            NOT EXISTS (SELECT 1 FROM jobs WHERE conversation_key = @conversationKey AND ${ACTIVE}),
            @now, @now)`,
  /**
   * Expired leases first (their worker died; they are still their conversation's head), then due heads, oldest
   * `run_at` first. Retaking an expired lease counts the lost run as an attempt, so a job that crashes its
   * worker every time is eventually dead-lettered instead of looping forever.
   */
  lease: `
    UPDATE jobs
       SET attempts = attempts + (state = 'leased'), state = 'leased', lease_owner = @owner, lease_until = @until
     WHERE id IN (
       SELECT id FROM (SELECT id FROM jobs WHERE state = 'leased' AND lease_until < @now ORDER BY lease_until LIMIT @limit)
       UNION ALL
       SELECT id FROM (SELECT id FROM jobs WHERE head = 1 AND state = 'pending' AND run_at <= @now ORDER BY run_at, id LIMIT @limit)
       LIMIT @limit)
    RETURNING id, dedupe_key, conversation_key, kind, payload, attempts, created_at`,
  complete: `
    UPDATE jobs SET state = 'done', head = 0, finished_at = @now
     WHERE ${OWNED} RETURNING conversation_key`,
  retry: `
    UPDATE jobs SET state = 'pending', run_at = @runAt, attempts = attempts + @counted, last_error = @error,
                    lease_owner = NULL, lease_until = NULL
     WHERE ${OWNED}`,
  deadLetter: `
    UPDATE jobs SET state = 'dead', head = 0, attempts = attempts + 1, last_error = @error, finished_at = @now
     WHERE ${OWNED} RETURNING conversation_key`,
  /** After a head settles, the lowest-id job still waiting in its conversation runs next. */
  promoteNext: `
    UPDATE jobs SET head = 1
     WHERE id = (SELECT id FROM jobs WHERE conversation_key = ? AND ${ACTIVE} ORDER BY id LIMIT 1)`,
  /**
   * A requeued job heads its conversation only when nothing else is waiting there; otherwise it waits its turn
   * and, having the lowest id, runs as soon as the current head settles.
   */
  requeueDead: `
    UPDATE jobs SET state = 'pending', attempts = 0, run_at = @now, finished_at = NULL,
                    lease_owner = NULL, lease_until = NULL,
                    head = NOT EXISTS (SELECT 1 FROM jobs AS a WHERE a.conversation_key = jobs.conversation_key
                                          AND a.state IN ('pending', 'leased'))
     WHERE id = @id AND state = 'dead'`,
  pause: `
    INSERT INTO pauses (key, until) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET until = max(until, excluded.until)`,
  pausedUntil: `SELECT until FROM pauses WHERE key = ? AND until > ?`,
  recordCustomerMessage: `
    INSERT INTO conversations (key, last_inbound_at, customer_messages, thread_id) VALUES (@key, @at, 1, @threadId)
    ON CONFLICT (key) DO UPDATE SET
      customer_messages = customer_messages + 1,
      replies_since_customer = CASE WHEN @at >= coalesce(last_inbound_at, 0) THEN 0 ELSE replies_since_customer END,
      thread_id = CASE WHEN @threadId IS NOT NULL AND @at >= coalesce(last_inbound_at, 0) THEN @threadId ELSE thread_id END,
      last_inbound_at = max(coalesce(last_inbound_at, 0), @at)`,
  recordReplySent: `
    INSERT INTO conversations (key, replies_since_customer) VALUES (?, 1)
    ON CONFLICT (key) DO UPDATE SET replies_since_customer = replies_since_customer + 1`,
  getConversation: `SELECT last_inbound_at, customer_messages, replies_since_customer, thread_id FROM conversations WHERE key = ?`,
  acquireLock: `
    INSERT INTO locks (name, owner, until) VALUES (@name, @owner, @until)
    ON CONFLICT (name) DO UPDATE SET owner = @owner, until = @until WHERE locks.owner = @owner OR locks.until < @now`,
  releaseLock: `DELETE FROM locks WHERE name = ? AND owner = ?`,
  putRecord: `
    INSERT INTO records (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
  getRecord: `SELECT value FROM records WHERE namespace = ? AND key = ? AND expires_at > ?`,
  purgeRecords: `DELETE FROM records WHERE (namespace, key) IN (SELECT namespace, key FROM records WHERE expires_at <= ? LIMIT ${PURGE_CHUNK})`,
  purgeDedupe: `DELETE FROM dedupe WHERE key IN (SELECT key FROM dedupe WHERE created_at < ? LIMIT ${PURGE_CHUNK})`,
  purgeDone: `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'done' AND finished_at < ? LIMIT ${PURGE_CHUNK})`,
  purgePauses: `DELETE FROM pauses WHERE until <= ?`,
  countActive: `SELECT state, count(*) AS n FROM jobs WHERE ${ACTIVE} GROUP BY state`,
  countDone: `SELECT count(*) AS n FROM jobs WHERE state = 'done'`,
  countDead: `SELECT count(*) AS n FROM jobs WHERE state = 'dead'`,
  getDead: `
    SELECT id, dedupe_key, conversation_key, kind, payload, attempts, created_at, last_error, finished_at
      FROM jobs WHERE id = ? AND state = 'dead'`,
  dropDead: `DELETE FROM jobs WHERE id = ? AND state = 'dead'`,
  deadIds: `SELECT id FROM jobs WHERE state = 'dead' ORDER BY finished_at, id`,
  backlog: `
    SELECT (SELECT count(*) FROM jobs WHERE ${ACTIVE}) AS pending,
           (SELECT min(created_at) FROM jobs WHERE ${ACTIVE}) AS oldest_pending,
           (SELECT min(run_at) FROM jobs WHERE head = 1 AND state = 'pending' AND run_at <= @now) AS oldest_due,
           (SELECT count(*) FROM jobs WHERE state = 'dead') AS dead,
           (SELECT count(*) FROM pauses WHERE until > @now) AS paused`,
  listDead: `
    SELECT id, dedupe_key, conversation_key, kind, payload, attempts, created_at, last_error, finished_at
      FROM jobs WHERE state = 'dead' ORDER BY finished_at, id LIMIT ?`,
} as const;

/** The lease statement, exported so tests and benchmarks can check its query plan. */
export const LEASE_SQL = SQL.lease;

export type Statements = { [K in keyof typeof SQL]: Database.Statement };

export function prepareAll(db: Database.Database): Statements {
  return Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as Statements;
}
