/**
 * The scale-out store engine: PostgreSQL (node-postgres pool). Several dmbridge instances share one database;
 * every guarantee of the port (store.ts) holds across them.
 *
 * GROUP COMMIT, as in sqlite.ts: enqueues, leases, settles (complete / retry / dead letter), conversation
 * counters and records join a queue that is written in ONE transaction, with one set-based statement per kind
 * (a multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING` for the dedupe keys and the jobs of every enqueue
 * in the batch, one `UPDATE … FROM unnest(…)` for every settle). One flush is in flight at a time; the next
 * batch accumulates meanwhile, so batches grow with the load and a webhook costs a fraction of a commit.
 * A failed flush rejects every caller in it (nothing of the batch was stored); the HTTP layer answers 503.
 *
 * Durability: a batch holding an enqueue commits with the server's `synchronous_commit` (on by default: the
 * WAL is flushed before a webhook is acknowledged). A batch of worker bookkeeping only commits with
 * `synchronous_commit = off`: it survives a dmbridge crash, and a PostgreSQL crash may lose its last fraction
 * of a second, so a job delivered just before may run again (at-least-once, like sqlite.ts's NORMAL).
 *
 * Time: every "now" comes from the injected clock, never from the database, so instances must keep their
 * clocks in sync (NTP) as leases and pauses compare times written by different instances.
 *
 * ORDERING ACROSS INSTANCES. As in sqlite.ts, the `head` column marks the one job of each conversation that
 * may run next; leasing only takes heads (or expired leases, which are heads) with `FOR UPDATE SKIP LOCKED`,
 * so concurrent lease calls never wait for each other nor take the same job twice. What needs more care is
 * keeping exactly one head per conversation while instances enqueue and settle concurrently: under READ
 * COMMITTED, an enqueue that sees the head still active (so its job is not head) and a complete that sees no
 * later job (so it promotes nothing) can both commit, leaving a conversation stuck forever; two enqueues that
 * both see an empty conversation would make two heads. So every transaction that changes which jobs of a
 * conversation are active (enqueue, complete, dead letter, requeue) first locks that conversation's row in
 * `lanes` (`INSERT … ON CONFLICT DO UPDATE … WHERE false`: inserts the row or locks it without writing a new
 * version), all lanes of a batch in one statement in one global order (no deadlocks), and only then, in later
 * statements with fresh snapshots, decides heads. Row locks, unlike advisory locks, do not use the shared
 * lock table, so a batch may lock thousands of conversations. Leasing never takes a lane lock: it only moves
 * a head between pending and leased, which does not change who the head is. A partial unique index allows at
 * most one head per conversation, so a bug here fails loudly instead of running two jobs of one conversation.
 * Lock order everywhere: lanes (sorted), then dedupe keys (sorted), then jobs; leases skip locked rows.
 */
import pg from 'pg';
import {
  systemClock,
  type Clock,
  type ConversationState,
  type DeadJob,
  type EnqueueResult,
  type Job,
  type LeaseOptions,
  type NewJob,
  type QueueStats,
  type RetryOptions,
  type Store,
} from './store.js';

export interface PostgresStoreOptions {
  clock?: Clock;
  /** Connections in the pool (default 10). One flush and the reads share it. */
  poolSize?: number;
  /** How long to wait for a new connection before the call fails (default 5000 ms). */
  connectionTimeoutMs?: number;
  /** Server-side limit per statement, lock waits included (default 10000 ms); a timed-out call rejects. */
  statementTimeoutMs?: number;
  /** Schema holding every table (default `dmbridge`); created if missing. */
  schema?: string;
  /** `application_name` of the connections, as seen in pg_stat_activity (default `dmbridge`). */
  applicationName?: string;
}

export const DEFAULT_POSTGRES_OPTIONS = {
  poolSize: 10,
  connectionTimeoutMs: 5000,
  statementTimeoutMs: 10_000,
  schema: 'dmbridge',
} as const;

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

/** Rows deleted per purge statement, so a large purge never holds locks or a transaction for long. */
const PURGE_CHUNK = 5000;
/** A flush takes queued calls until it carries this many jobs / calls; the rest waits for the next flush. */
const MAX_BATCH_JOBS = 5000;
const MAX_BATCH_CALLS = 2000;

const ACTIVE = `state IN ('pending', 'leased')`;

function buildSql(schema: string) {
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
     * Complete ('c'), retry ('r') and dead letter ('d') in one statement; only the owner of a lease that has
     * not expired may settle (a lease is valid up to and including lease_until).
     */
    settle: `
      UPDATE ${s}.jobs AS j SET
        state       = CASE s.action WHEN 'c' THEN 'done' WHEN 'd' THEN 'dead' ELSE 'pending' END,
        head        = j.head AND s.action = 'r',
        attempts    = j.attempts + CASE s.action WHEN 'd' THEN 1 WHEN 'r' THEN s.counted ELSE 0 END,
        run_at      = CASE WHEN s.action = 'r' THEN s.run_at ELSE j.run_at END,
        last_error  = CASE WHEN s.action = 'c' THEN j.last_error ELSE s.error END,
        lease_owner = CASE WHEN s.action = 'r' THEN NULL ELSE j.lease_owner END,
        lease_until = CASE WHEN s.action = 'r' THEN NULL ELSE j.lease_until END,
        finished_at = CASE WHEN s.action = 'r' THEN j.finished_at ELSE $7 END
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
    /** Customer messages ('m') and replies sent ('r'), at most one per key per statement; same rules as sqlite.ts. */
    conversations: `
      INSERT INTO ${s}.conversations AS c (key, last_inbound_at, customer_messages, replies_since_customer, thread_id)
      SELECT k, CASE WHEN op = 'm' THEN at END, (op = 'm')::int, (op = 'r')::int, CASE WHEN op = 'm' THEN tid END
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

type Sql = ReturnType<typeof buildSql>;

/** The lease statement for a schema ($1 now, $2 limit, $3 owner, $4 lease until), so tests can check its plan. */
export function postgresLeaseSql(schema: string): string {
  return buildSql(schema).lease;
}

interface JobRow {
  id: string;
  dedupe_key: string;
  conversation_key: string;
  kind: string;
  payload: string;
  attempts: number;
  created_at: string;
}

interface DeadJobRow extends JobRow {
  last_error: string | null;
  finished_at: string;
}

/** A job checked and serialised before it joins a group commit, so one bad job fails only its caller. */
interface JobInsert {
  dedupeKey: string;
  conversationKey: string;
  kind: string;
  payload: string;
}

type SettleAction = 'c' | 'r' | 'd';

/** One caller's write, waiting for the next group commit. */
type Write =
  | { kind: 'enqueue'; jobs: JobInsert[] }
  | { kind: 'lease'; owner: string; limit: number; leaseMs: number }
  | { kind: 'settle'; id: string; owner: string; action: SettleAction; error: string | null; runAt: number; counted: number }
  | { kind: 'conversation'; key: string; op: 'm' | 'r'; at: number | null; threadId: string | null }
  | { kind: 'record'; namespace: string; key: string; value: string; expiresAt: number };

/** Sends one statement of a pipelined transaction; `onResult` reads its answer when it comes. */
type Send = (name: keyof Sql, values: unknown[], onResult?: (result: pg.QueryResult) => void) => void;

interface Queued {
  write: Write;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

export class PostgresStore implements Store {
  private readonly sql: Sql;
  private queue: Queued[] = [];
  private flushScheduled = false;
  private flushing = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private idle: (() => void) | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    readonly schema: string,
  ) {
    this.sql = buildSql(schema);
  }

  /** A dedupe key seen before (or earlier in this call or batch) is dropped; resolves once the batch is committed. */
  enqueue(jobs: NewJob[]): Promise<EnqueueResult> {
    let inserts: JobInsert[];
    try {
      inserts = jobs.map(toInsert);
    } catch (err) {
      return Promise.reject(err);
    }
    if (inserts.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0 });
    return this.write({ kind: 'enqueue', jobs: inserts });
  }

  async lease(opts: LeaseOptions): Promise<Job[]> {
    if (opts.limit <= 0) return [];
    checkText(opts.owner);
    return this.write({ kind: 'lease', owner: opts.owner, limit: Math.floor(opts.limit), leaseMs: Math.floor(opts.leaseMs) });
  }

  async complete(jobId: string, owner: string): Promise<boolean> {
    return this.settle(jobId, owner, 'c', null, 0, 0);
  }

  async retry(jobId: string, owner: string, opts: RetryOptions): Promise<boolean> {
    return this.settle(jobId, owner, 'r', freeText(opts.error), ms(opts.runAt), opts.countAttempt ? 1 : 0);
  }

  async deadLetter(jobId: string, owner: string, error: string): Promise<boolean> {
    return this.settle(jobId, owner, 'd', freeText(error), 0, 0);
  }

  async recordCustomerMessage(conversationKey: string, at: number, threadId?: string): Promise<void> {
    checkText(conversationKey, threadId ?? '');
    await this.write({ kind: 'conversation', key: conversationKey, op: 'm', at: ms(at), threadId: threadId ?? null });
  }

  async recordReplySent(conversationKey: string): Promise<void> {
    checkText(conversationKey);
    await this.write({ kind: 'conversation', key: conversationKey, op: 'r', at: null, threadId: null });
  }

  async getConversation(conversationKey: string): Promise<ConversationState> {
    if (!storable(conversationKey)) return {};
    const { rows } = await this.query<{
      last_inbound_at: string | null;
      customer_messages: number;
      replies_since_customer: number;
      thread_id: string | null;
    }>('getConversation', [conversationKey]);
    const row = rows[0];
    if (!row) return {};
    return {
      ...(row.last_inbound_at != null ? { lastInboundAt: Number(row.last_inbound_at) } : {}),
      customerMessages: row.customer_messages,
      repliesSinceCustomer: row.replies_since_customer,
      ...(row.thread_id != null ? { threadId: row.thread_id } : {}),
    };
  }

  async acquireLock(name: string, owner: string, until: number): Promise<boolean> {
    checkText(name, owner);
    const result = await this.query('acquireLock', [name, owner, ms(until), ms(this.clock())]);
    return result.rowCount === 1;
  }

  async releaseLock(name: string, owner: string): Promise<void> {
    if (!storable(name, owner)) return;
    await this.query('releaseLock', [name, owner]);
  }

  async putRecord(namespace: string, key: string, value: unknown, expiresAt: number): Promise<void> {
    checkText(namespace, key);
    const json = JSON.stringify(value ?? null);
    await this.write({ kind: 'record', namespace, key, value: json, expiresAt: ms(expiresAt) });
  }

  async getRecord<T>(namespace: string, key: string): Promise<T | undefined> {
    if (!storable(namespace, key)) return undefined;
    const { rows } = await this.query<{ value: string }>('getRecord', [namespace, key, ms(this.clock())]);
    return rows[0] ? (JSON.parse(rows[0].value) as T) : undefined;
  }

  async pause(key: string, until: number): Promise<void> {
    checkText(key);
    await this.query('pause', [key, ms(until)]);
  }

  async pausedUntil(key: string): Promise<number> {
    if (!storable(key)) return 0;
    const { rows } = await this.query<{ until: string }>('pausedUntil', [key, ms(this.clock())]);
    return rows[0] ? Number(rows[0].until) : 0;
  }

  /** Deletes in chunks (each its own short transaction); expired pauses and idle lane rows go too. */
  async purge(opts: { dedupeBefore: number; doneBefore: number }): Promise<{ dedupeKeys: number; jobs: number }> {
    const dedupeKeys = await this.deleteInChunks('purgeDedupe', [ms(opts.dedupeBefore)]);
    const jobs = await this.deleteInChunks('purgeDone', [ms(opts.doneBefore)]);
    await this.deleteInChunks('purgeRecords', [ms(this.clock())]);
    await this.query('purgePauses', [ms(this.clock())]);
    await this.deleteInChunks('purgeLanes', []);
    return { dedupeKeys, jobs };
  }

  /** `done` counts finished jobs kept until `purge` removes them. */
  async stats(): Promise<QueueStats> {
    const { rows } = await this.query<Record<keyof QueueStats, string>>('stats', []);
    const row = rows[0]!;
    return { pending: Number(row.pending), leased: Number(row.leased), dead: Number(row.dead), done: Number(row.done) };
  }

  /** Oldest failures first. */
  async listDead(limit: number): Promise<DeadJob[]> {
    const { rows } = await this.query<DeadJobRow>('listDead', [Math.max(0, Math.floor(limit))]);
    return rows.map((row) => ({ ...toJob(row), lastError: row.last_error ?? '', failedAt: Number(row.finished_at) }));
  }

  async requeueDead(jobId: string): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    this.assertOpen();
    return this.transaction(async (client) => {
      const found = await client.query<{ conversation_key: string }>(this.named('deadConversation', [id]));
      const conversationKey = found.rows[0]?.conversation_key;
      if (conversationKey === undefined) return false;
      await client.query(this.named('lockLanes', [[conversationKey], []]));
      return (await client.query(this.named('requeueDead', [id, ms(this.clock())]))).rowCount === 1;
    });
  }

  /** Writes whatever is still waiting for its group commit, then closes the pool. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = (async () => {
        if (this.flushing || this.queue.length > 0) {
          await new Promise<void>((resolve) => {
            this.idle = resolve;
            this.scheduleFlush();
          });
        }
        await this.pool.end();
      })();
    }
    return this.closing;
  }

  private settle(jobId: string, owner: string, action: SettleAction, error: string | null, runAt: number, counted: number): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined || !storable(owner)) return Promise.resolve(false);
    return this.write({ kind: 'settle', id: String(id), owner, action, error, runAt, counted });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }

  private named(name: keyof Sql, values: unknown[]): pg.QueryConfig {
    return { name: `dmbridge_${name}`, text: this.sql[name], values };
  }

  /** One statement on its own connection (autocommit); pg-pool discards a connection that failed. */
  private query<R extends pg.QueryResultRow = pg.QueryResultRow>(name: keyof Sql, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return this.pool.query<R>(this.named(name, values));
  }

  /**
   * Runs `fn` in a transaction. On any error the connection is destroyed rather than reused (its state is
   * unknown; the server rolls back), and the caller gets the error.
   */
  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    const { client, release } = await checkOut(this.pool);
    try {
      await client.query(begin);
      const result = await fn(client);
      await client.query('COMMIT');
      release();
      return result;
    } catch (err) {
      release(err);
      throw err;
    }
  }

  /**
   * One transaction sent as a pipeline: `build` hands its statements to `send` without waiting for any answer,
   * and BEGIN, those statements and COMMIT reach the server together, so a flush costs one round trip instead
   * of one per statement (the pool's connections run in pg's pipeline mode). The server still runs them one
   * after the other, each with a fresh snapshot. If one fails, PostgreSQL refuses the rest and turns COMMIT into
   * a rollback; the failed statement's rejection is what the caller gets, and the connection is discarded.
   */
  private async pipelinedTransaction<T>(begin: string, build: (send: Send) => () => T): Promise<T> {
    const { client, release } = await checkOut(this.pool);
    const sent: Promise<unknown>[] = [client.query(begin)];
    try {
      const finish = build((name, values, onResult) => {
        const answer = client.query(this.named(name, values));
        sent.push(onResult ? answer.then(onResult) : answer);
      });
      sent.push(client.query('COMMIT'));
      await Promise.all(sent);
      release();
      return finish();
    } catch (err) {
      // Every statement was sent: wait for their answers before the connection goes, so none rejects unheard.
      await Promise.allSettled(sent);
      release(err);
      throw err;
    }
  }

  /** Queues a write for the next group commit (see the file comment). */
  private write<T>(write: Write): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (result: unknown) => void, reject });
      this.scheduleFlush();
    });
  }

  /** On the next turn, so calls made in the same turn share a transaction; never two flushes at once. */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    if (this.queue.length === 0) {
      this.idle?.();
      this.idle = undefined;
      return;
    }
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return this.scheduleFlush();
    this.flushing = true;
    const batch = this.takeBatch();
    try {
      const durable = batch.some((q) => q.write.kind === 'enqueue');
      const results = await this.pipelinedTransaction(
        durable ? 'BEGIN' : 'BEGIN; SET LOCAL synchronous_commit = off',
        (send) => this.runBatch(send, batch.map((q) => q.write)),
      );
      batch.forEach((q, i) => q.resolve(results[i]));
    } catch (err) {
      for (const q of batch) q.reject(err);
    } finally {
      this.flushing = false;
      this.scheduleFlush();
    }
  }

  private takeBatch(): Queued[] {
    let jobs = 0;
    let n = 0;
    while (n < this.queue.length && n < MAX_BATCH_CALLS && jobs < MAX_BATCH_JOBS) {
      const write = this.queue[n]!.write;
      if (write.kind === 'enqueue') jobs += write.jobs.length;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /**
   * One batch, in the lock order of the file comment: lanes, then the enqueues (dedupe keys, jobs), the settles
   * and promotions, the leases (which see this batch's promotions), conversation counters and records. Sends
   * every statement at once (no statement needs an earlier one's answer) and returns a function that, once
   * all answers are in, gives each write's result by position.
   */
  private runBatch(send: Send, writes: Write[]): () => unknown[] {
    const now = ms(this.clock());
    const results: unknown[] = new Array(writes.length);
    const indexed = writes.map((write, i) => ({ write, i }));
    const of = <K extends Write['kind']>(kind: K) =>
      indexed.filter((e): e is { write: Extract<Write, { kind: K }>; i: number } => e.write.kind === kind);
    const enqueues = of('enqueue');
    const settles = of('settle');

    // Enqueue: a key repeated within the batch is a duplicate for every caller after the first.
    const seen = new Set<string>();
    const input: JobInsert[] = [];
    const mine: string[][] = enqueues.map(({ write }) =>
      write.jobs.flatMap((job) => {
        if (seen.has(job.dedupeKey)) return [];
        seen.add(job.dedupeKey);
        input.push(job);
        return [job.dedupeKey];
      }),
    );

    const endingIds = settles.filter((e) => e.write.action !== 'r').map((e) => e.write.id);
    if (input.length > 0 || endingIds.length > 0) {
      send('lockLanes', [[...new Set(input.map((j) => j.conversationKey))], endingIds]);
    }

    if (input.length > 0) {
      send(
        'enqueue',
        [input.map((j) => j.dedupeKey), input.map((j) => j.conversationKey), input.map((j) => j.kind), input.map((j) => j.payload), now],
        ({ rows }) => {
          const accepted = new Set(rows.map((r) => r.dedupe_key as string));
          enqueues.forEach(({ write, i }, n) => {
            const count = mine[n]!.filter((key) => accepted.has(key)).length;
            results[i] = { accepted: count, duplicates: write.jobs.length - count };
          });
        },
      );
    } else {
      for (const { write, i } of enqueues) results[i] = { accepted: 0, duplicates: write.jobs.length };
    }

    // Settles: the n-th settle of one job id goes in the n-th statement, so they apply in call order.
    for (const round of rounds(settles, (e) => e.write.id)) {
      const values = [
        round.map((e) => e.write.id),
        round.map((e) => e.write.owner),
        round.map((e) => e.write.action),
        round.map((e) => e.write.error),
        round.map((e) => e.write.runAt),
        round.map((e) => e.write.counted),
        now,
      ];
      send('settle', values, ({ rows }) => {
        const settled = new Set(rows.map((r) => r.id as string));
        for (const e of round) results[e.i] = settled.has(e.write.id);
      });
    }
    if (endingIds.length > 0) send('promote', [[...new Set(endingIds)]]);

    for (const { write, i } of of('lease')) {
      send('lease', [now, write.limit, write.owner, now + write.leaseMs], ({ rows }) => {
        results[i] = (rows as JobRow[]).map(toJob).sort((a, b) => Number(a.id) - Number(b.id));
      });
    }

    for (const round of rounds(of('conversation'), (e) => e.write.key)) {
      round.sort((a, b) => compare(a.write.key, b.write.key));
      send('conversations', [
        round.map((e) => e.write.key),
        round.map((e) => e.write.op),
        round.map((e) => e.write.at),
        round.map((e) => e.write.threadId),
      ]);
    }

    for (const round of rounds(of('record'), (e) => `${e.write.namespace}\u0000${e.write.key}`)) {
      round.sort((a, b) => compare(a.write.namespace, b.write.namespace) || compare(a.write.key, b.write.key));
      send('putRecords', [
        round.map((e) => e.write.namespace),
        round.map((e) => e.write.key),
        round.map((e) => e.write.value),
        round.map((e) => e.write.expiresAt),
      ]);
    }
    return () => results;
  }

  private async deleteInChunks(name: keyof Sql, values: unknown[]): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = (await this.query(name, values)).rowCount ?? 0;
      total += deleted;
      if (deleted < PURGE_CHUNK) return total;
    }
  }
}

/**
 * Opens the pool and brings the schema up to date. Rejects when the server is unreachable or the schema is
 * newer than this dmbridge. The pool reconnects by itself once the server is back: a call that fails because
 * a connection broke rejects, the broken connection is discarded, the next call opens a new one.
 */
export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const schema = opts.schema ?? DEFAULT_POSTGRES_OPTIONS.schema;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name "${schema}": use lower-case letters, digits and underscores`);
  }
  const statementTimeoutMs = positive(opts.statementTimeoutMs, DEFAULT_POSTGRES_OPTIONS.statementTimeoutMs, 'statementTimeoutMs');
  const pool = new pg.Pool({
    connectionString: url,
    max: positive(opts.poolSize, DEFAULT_POSTGRES_OPTIONS.poolSize, 'poolSize'),
    connectionTimeoutMillis: positive(opts.connectionTimeoutMs, DEFAULT_POSTGRES_OPTIONS.connectionTimeoutMs, 'connectionTimeoutMs'),
    statement_timeout: statementTimeoutMs,
    // The server bounds each statement; this bounds a call whose server went silent (network partition).
    query_timeout: statementTimeoutMs + 5000,
    idle_in_transaction_session_timeout: statementTimeoutMs + 5000,
    application_name: opts.applicationName ?? 'dmbridge',
    keepAlive: true,
    idleTimeoutMillis: 30_000,
    // Lets a group commit send all its statements at once (pipelinedTransaction); statements awaited one by
    // one behave as without it.
    pipeline: true,
  });
  // An idle connection that breaks (server restart, pg_terminate_backend) is reported here and dropped by the
  // pool; without a listener Node would treat the event as an uncaught error and exit.
  pool.on('error', () => undefined);
  try {
    await migrate(pool, schema);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return new PostgresStore(pool, opts.clock ?? systemClock, schema);
}

/**
 * Applies the missing migrations, each in its own transaction under a transaction-level advisory lock on the
 * schema name, so instances starting together apply each migration exactly once and wait for each other.
 */
async function migrate(pool: pg.Pool, schema: string): Promise<void> {
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

/**
 * Checks a connection out of the pool with an 'error' listener on it. pg-pool listens only on idle connections;
 * a checked-out connection that breaks while none of its statements is running (pg_terminate_backend, a server
 * restart, a network reset) emits 'error', which with no listener is an uncaught exception: the whole process
 * exits. The listener must be attached synchronously in pg-pool's callback, not after `await pool.connect()`:
 * a connection is often handed over while pg is still parsing a socket chunk (the previous user's last result),
 * and when that same chunk ends with the server's FATAL message, pg emits 'error' before any promise continuation
 * could run. The caller still learns of the break, from its next statement (a broken connection rejects every
 * query); `release(err)` discards the connection, and so does `release()` after such an error.
 */
function checkOut(pool: pg.Pool): Promise<{ client: pg.PoolClient; release(err?: unknown): void }> {
  return new Promise((resolve, reject) => {
    pool.connect((err, client) => {
      if (err || !client) return reject(err ?? new Error('the pool returned no connection'));
      let broken: Error | undefined;
      const onError = (error: Error) => void (broken ??= error);
      client.on('error', onError);
      resolve({
        client,
        release(error?: unknown) {
          client.release(error === undefined ? broken : error instanceof Error ? error : true);
          // After release: the pool has put its own idle listener back by then.
          client.off('error', onError);
        },
      });
    });
  });
}

/** The n-th item of each key goes in the n-th round, so no statement touches one row twice. */
function rounds<T>(items: T[], key: (item: T) => string): T[][] {
  const seen = new Map<string, number>();
  const out: T[][] = [];
  for (const item of items) {
    const k = key(item);
    const round = seen.get(k) ?? 0;
    seen.set(k, round + 1);
    (out[round] ??= []).push(item);
  }
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** PostgreSQL text cannot hold NUL: a write refuses it for its caller only, instead of failing everyone's batch. */
function checkText(...values: string[]): void {
  if (!storable(...values)) throw new TypeError('store keys must not contain NUL characters');
}

/** Error texts come from other services: a NUL in one must not fail the batch that records it. */
function freeText(text: string): string {
  return String(text).replaceAll('\u0000', '\uFFFD');
}

/** A key with NUL was never stored, so a read of it finds nothing (rather than a database error). */
function storable(...values: string[]): boolean {
  return values.every((value) => !value.includes('\u0000'));
}

/** Epoch ms as an integer, for bigint columns. */
function ms(value: number): number {
  if (!Number.isFinite(value)) throw new TypeError(`not a time: ${value}`);
  return Math.floor(value);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`PostgreSQL ${name} must be a positive integer, got ${value}`);
  return value;
}

function toInsert(job: NewJob): JobInsert {
  checkText(job.dedupeKey, job.conversationKey, job.kind);
  return {
    dedupeKey: job.dedupeKey,
    conversationKey: job.conversationKey,
    kind: job.kind,
    payload: JSON.stringify(job.payload ?? null),
  };
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    dedupeKey: row.dedupe_key,
    conversationKey: row.conversation_key,
    kind: row.kind,
    payload: JSON.parse(row.payload) as unknown,
    attempts: row.attempts,
    createdAt: Number(row.created_at),
  };
}

/** Job ids are decimal bigints; anything else names no job. */
function parseJobId(jobId: string): string | undefined {
  return /^[1-9]\d{0,15}$/.test(jobId) ? jobId : undefined;
}
