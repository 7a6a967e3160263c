/** Every statement of the PostgreSQL engine, for one schema. Lock order and head rules: ./store.ts. */

/** Rows deleted per purge statement, so a large purge never holds locks or a transaction for long. */
export const PURGE_CHUNK = 5000;
/** A flush takes queued calls until it carries this many jobs / calls; the rest waits for the next flush. */
export const MAX_BATCH_JOBS = 5000;
export const MAX_BATCH_CALLS = 2000;

const ACTIVE = `state IN ('pending', 'leased')`;

export function buildSql(schema: string) {
  const s = `"${schema}"`;
  return {
    /** Locks the lanes of the given conversations and of the given jobs' conversations, in one global order. */
    lockLanes: `
      INSERT INTO ${s}.lanes (conversation_key)
      SELECT k FROM (SELECT unnest($1::text[]) AS k UNION SELECT conversation_key FROM ${s}.jobs WHERE id = ANY($2::bigint[])) AS u
       ORDER BY k COLLATE "C"
      ON CONFLICT (conversation_key) DO UPDATE SET conversation_key = excluded.conversation_key WHERE false`,
    /**
     * Every enqueue of a batch: records the dedupe keys (sorted: two batches never deadlock on them), then
     * inserts the jobs whose key was new, in enqueue order. A job heads its conversation when it is the first
     * of the batch there and nothing is active there (the lanes are locked, so this is still true at commit).
     */
    enqueue: `
      WITH input AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY
                      AS t(dedupe_key, conversation_key, kind, payload, n)
      ), fresh AS (
        INSERT INTO ${s}.dedupe (key, created_at)
        SELECT dedupe_key, $5 FROM input ORDER BY dedupe_key COLLATE "C"
        ON CONFLICT DO NOTHING
        RETURNING key
      ), accepted AS (
        SELECT i.*, row_number() OVER (PARTITION BY i.conversation_key ORDER BY i.n) AS nth
          FROM input i JOIN fresh f ON f.key = i.dedupe_key
      )
      INSERT INTO ${s}.jobs (dedupe_key, conversation_key, kind, payload, state, head, run_at, created_at)
      SELECT a.dedupe_key, a.conversation_key, a.kind, a.payload, 'pending',
             a.nth = 1 AND NOT EXISTS (SELECT 1 FROM ${s}.jobs x WHERE x.conversation_key = a.conversation_key AND x.${ACTIVE}),
             $5, $5
        FROM accepted a ORDER BY a.n
      RETURNING dedupe_key`,
    /**
     * Complete, retry and dead letter in one statement; only the owner of a lease that has not expired may
     * settle (a lease is valid up to and including lease_until).
     */
    settle: `
      UPDATE ${s}.jobs AS j SET
        state       = CASE s.action WHEN 'complete' THEN 'done' WHEN 'dead' THEN 'dead' ELSE 'pending' END,
        head        = j.head AND s.action = 'retry',
        attempts    = j.attempts + CASE s.action WHEN 'dead' THEN 1 WHEN 'retry' THEN s.counted ELSE 0 END,
        run_at      = CASE WHEN s.action = 'retry' THEN s.run_at ELSE j.run_at END,
        last_error  = CASE WHEN s.action = 'complete' THEN j.last_error ELSE s.error END,
        lease_owner = CASE WHEN s.action = 'retry' THEN NULL ELSE j.lease_owner END,
        lease_until = CASE WHEN s.action = 'retry' THEN NULL ELSE j.lease_until END,
        finished_at = CASE WHEN s.action = 'retry' THEN j.finished_at ELSE $7 END
        FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[]) AS s(id, owner, action, error, run_at, counted)
       WHERE j.id = s.id AND j.state = 'leased' AND j.lease_owner = s.owner AND j.lease_until >= $7
      RETURNING j.id::text AS id, j.conversation_key, s.action`,
    /**
     * After heads settled (their lanes locked), the lowest-id job still waiting in each of their conversations
     * runs next. Given the jobs' ids, not the settle's answer, so it can be sent before that answer arrives; a
     * conversation that still has a head (a settle that lost its lease) is left alone.
     */
    promote: `
      UPDATE ${s}.jobs SET head = true
       WHERE id IN (SELECT (SELECT a.id FROM ${s}.jobs a WHERE a.conversation_key = c.k AND a.${ACTIVE} ORDER BY a.id LIMIT 1)
                      FROM (SELECT DISTINCT conversation_key AS k FROM ${s}.jobs WHERE id = ANY($1::bigint[])) AS c
                     WHERE NOT EXISTS (SELECT 1 FROM ${s}.jobs h WHERE h.conversation_key = c.k AND h.head))`,
    /**
     * Expired leases first (their worker died; they are still their conversation's head), then due heads,
     * oldest run_at first. Rows another transaction holds are skipped, never waited for. Retaking an expired
     * lease counts the lost run as an attempt.
     */
    lease: `
      WITH expired AS (
        SELECT id FROM ${s}.jobs WHERE state = 'leased' AND lease_until < $1 ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED
      ), due AS (
        SELECT id FROM ${s}.jobs WHERE head AND state = 'pending' AND run_at <= $1 ORDER BY run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
      ), picked AS (
        SELECT id FROM expired UNION ALL SELECT id FROM due LIMIT $2
      )
      UPDATE ${s}.jobs AS j
         SET attempts = j.attempts + (j.state = 'leased')::int, state = 'leased', lease_owner = $3, lease_until = $4
        FROM picked WHERE j.id = picked.id
      RETURNING j.id::text AS id, j.dedupe_key, j.conversation_key, j.kind, j.payload, j.attempts, j.created_at`,
    /** Customer messages and replies sent, at most one per key per statement; the same rules as the SQLite engine. */
    conversations: `
      INSERT INTO ${s}.conversations AS c (key, last_inbound_at, customer_messages, replies_since_customer, thread_id)
      SELECT k, CASE WHEN op = 'message' THEN at END, (op = 'message')::int, (op = 'reply')::int, CASE WHEN op = 'message' THEN tid END
        FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) WITH ORDINALITY AS t(k, op, at, tid, n)
       ORDER BY n
      ON CONFLICT (key) DO UPDATE SET
        customer_messages = c.customer_messages + excluded.customer_messages,
        replies_since_customer = CASE
          WHEN excluded.customer_messages = 0 THEN c.replies_since_customer + 1
          WHEN excluded.last_inbound_at >= coalesce(c.last_inbound_at, 0) THEN 0
          ELSE c.replies_since_customer END,
        thread_id = CASE
          WHEN excluded.thread_id IS NOT NULL AND excluded.last_inbound_at >= coalesce(c.last_inbound_at, 0) THEN excluded.thread_id
          ELSE c.thread_id END,
        last_inbound_at = CASE
          WHEN excluded.customer_messages = 0 THEN c.last_inbound_at
          ELSE greatest(coalesce(c.last_inbound_at, 0), excluded.last_inbound_at) END`,
    putRecords: `
      INSERT INTO ${s}.records (namespace, key, value, expires_at)
      SELECT ns, k, v, e FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS t(ns, k, v, e, n)
       ORDER BY n
      ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
    getConversation: `SELECT last_inbound_at, customer_messages, replies_since_customer, thread_id FROM ${s}.conversations WHERE key = $1`,
    getRecord: `SELECT value FROM ${s}.records WHERE namespace = $1 AND key = $2 AND expires_at > $3`,
    pause: `
      INSERT INTO ${s}.pauses (key, until) VALUES ($1, $2)
      ON CONFLICT (key) DO UPDATE SET until = greatest(${s}.pauses.until, excluded.until)`,
    pausedUntil: `SELECT until FROM ${s}.pauses WHERE key = $1 AND until > $2`,
    /** Insert, or take over a lock that is ours or expired; atomic under concurrency (ON CONFLICT locks the row). */
    acquireLock: `
      INSERT INTO ${s}.locks (name, owner, until) VALUES ($1, $2, $3)
      ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
       WHERE ${s}.locks.owner = excluded.owner OR ${s}.locks.until < $4`,
    releaseLock: `DELETE FROM ${s}.locks WHERE name = $1 AND owner = $2`,
    deadConversation: `SELECT conversation_key FROM ${s}.jobs WHERE id = $1 AND state = 'dead'`,
    /**
     * A requeued job heads its conversation only when nothing else is waiting there; otherwise it waits its turn
     * and, having the lowest id, runs as soon as the current head settles. Runs with the lane locked.
     */
    requeueDead: `
      UPDATE ${s}.jobs AS j SET state = 'pending', attempts = 0, run_at = $2, finished_at = NULL,
                              lease_owner = NULL, lease_until = NULL,
                              head = NOT EXISTS (SELECT 1 FROM ${s}.jobs a WHERE a.conversation_key = j.conversation_key AND a.${ACTIVE})
       WHERE j.id = $1 AND j.state = 'dead'`,
    stats: `
      SELECT (SELECT count(*) FROM ${s}.jobs WHERE state = 'pending') AS pending,
             (SELECT count(*) FROM ${s}.jobs WHERE state = 'leased')  AS leased,
             (SELECT count(*) FROM ${s}.jobs WHERE state = 'dead')    AS dead,
             (SELECT count(*) FROM ${s}.jobs WHERE state = 'done')    AS done`,
    /** Every table the schema needs, present, and the migrations applied (checkIntegrity). */
    tablesPresent: `
      SELECT t AS missing FROM unnest(ARRAY['jobs', 'lanes', 'dedupe', 'pauses', 'conversations', 'locks', 'records']) AS t
       WHERE to_regclass('${s}.' || t) IS NULL`,
    getDead: `
      SELECT id::text AS id, dedupe_key, conversation_key, kind, payload, attempts, created_at, last_error, finished_at
        FROM ${s}.jobs WHERE id = $1 AND state = 'dead'`,
    dropDead: `DELETE FROM ${s}.jobs WHERE id = $1 AND state = 'dead'`,
    deadIds: `SELECT id::text AS id FROM ${s}.jobs WHERE state = 'dead' ORDER BY finished_at, id`,
    backlog: `
      SELECT (SELECT count(*) FROM ${s}.jobs WHERE ${ACTIVE}) AS pending,
             (SELECT min(created_at) FROM ${s}.jobs WHERE ${ACTIVE}) AS oldest_pending,
             (SELECT min(run_at) FROM ${s}.jobs WHERE head AND state = 'pending' AND run_at <= $1) AS oldest_due,
             (SELECT count(*) FROM ${s}.jobs WHERE state = 'dead') AS dead,
             (SELECT count(*) FROM ${s}.pauses WHERE until > $1) AS paused`,
    listDead: `
      SELECT id::text AS id, dedupe_key, conversation_key, kind, payload, attempts, created_at, last_error, finished_at
        FROM ${s}.jobs WHERE state = 'dead' ORDER BY finished_at, id LIMIT $1`,
    purgeDedupe: `DELETE FROM ${s}.dedupe WHERE key IN (SELECT key FROM ${s}.dedupe WHERE created_at < $1 LIMIT ${PURGE_CHUNK} FOR UPDATE SKIP LOCKED)`,
    purgeDone: `DELETE FROM ${s}.jobs WHERE id IN (SELECT id FROM ${s}.jobs WHERE state = 'done' AND finished_at < $1 LIMIT ${PURGE_CHUNK} FOR UPDATE SKIP LOCKED)`,
    purgeRecords: `
      DELETE FROM ${s}.records WHERE (namespace, key) IN
        (SELECT namespace, key FROM ${s}.records WHERE expires_at <= $1 LIMIT ${PURGE_CHUNK} FOR UPDATE SKIP LOCKED)`,
    purgePauses: `DELETE FROM ${s}.pauses WHERE until <= $1`,
    /**
     * Lane rows of conversations with nothing active. Safe at any time: every lane lock is an upsert, so a
     * deleted lane is simply inserted again by the next transaction that needs it.
     */
    purgeLanes: `
      DELETE FROM ${s}.lanes WHERE conversation_key IN
        (SELECT l.conversation_key FROM ${s}.lanes l
          WHERE NOT EXISTS (SELECT 1 FROM ${s}.jobs a WHERE a.conversation_key = l.conversation_key AND a.${ACTIVE})
          LIMIT ${PURGE_CHUNK} FOR UPDATE SKIP LOCKED)`,
  } as const;
}

export type Sql = ReturnType<typeof buildSql>;

/** The lease statement for a schema ($1 now, $2 limit, $3 owner, $4 lease until), so tests can check its plan. */
export function postgresLeaseSql(schema: string): string {
  return buildSql(schema).lease;
}
