/**
 * The default store engine: one SQLite file (better-sqlite3, WAL) shared by the HTTP intake and the workers
 * of one instance.
 *
 * GROUP COMMIT: every write (enqueue, lease, complete, retry, dead letter) joins a queue that is written in
 * ONE transaction on the next `setImmediate`, and each caller gets its own result. In WAL mode every commit
 * appends each page it touched, so many small transactions cost far more than one that carries them all;
 * this is what lets one instance acknowledge thousands of webhooks per second while its worker delivers.
 *
 * Durability: a batch holding an enqueue commits with `synchronous = FULL`, which in WAL mode fsyncs the
 * commit, so a resolved `enqueue` (an acknowledged webhook) survives kill -9 and power loss. A batch of worker
 * bookkeeping only commits with `synchronous = NORMAL`: that survives a process crash, and because the WAL is
 * sequential the next FULL commit makes it durable too. On power loss the latest bookkeeping may be lost, so a
 * job delivered just before may run again with the same message id (at-least-once); nothing acknowledged is.
 * https://www.sqlite.org/pragma.html#pragma_synchronous , https://www.sqlite.org/wal.html
 *
 * Ordering: the `head` column marks the one job of each conversation that may run next (the lowest id among
 * its pending and leased jobs when it became head). It is maintained in the same transaction as every state
 * change, which turns "the head of each conversation that is due" into a range read on a small partial index
 * instead of a GROUP BY over the whole backlog on every lease call.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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

export interface SqliteStoreOptions {
  clock?: Clock;
  /** Enqueue commits: FULL (default) survives power loss; NORMAL survives a process crash only, for throwaway setups. */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long a write waits for another process's transaction before failing with SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

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

/** Rows deleted per purge transaction, so a large purge never blocks the event loop for long. */
const PURGE_CHUNK = 5000;

const ACTIVE = `state IN ('pending', 'leased')`;

/** A lease is valid up to and including `lease_until`; `lease` retakes it only once `lease_until < now`. */
const OWNED = `id = @id AND state = 'leased' AND lease_owner = @owner AND lease_until >= @now`;

const SQL = {
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
  listDead: `
    SELECT id, dedupe_key, conversation_key, kind, payload, attempts, created_at, last_error, finished_at
      FROM jobs WHERE state = 'dead' ORDER BY finished_at, id LIMIT ?`,
} as const;

/** The lease statement, exported so tests and benchmarks can check its query plan. */
export const LEASE_SQL = SQL.lease;

interface JobRow {
  id: number;
  dedupe_key: string;
  conversation_key: string;
  kind: string;
  payload: string;
  attempts: number;
  created_at: number;
}

interface DeadJobRow extends JobRow {
  last_error: string | null;
  finished_at: number;
}

/** A job checked and serialised before it joins a group commit, so one bad payload fails only its caller. */
interface JobInsert {
  dedupeKey: string;
  conversationKey: string;
  kind: string;
  payload: string;
}

/** One caller's write, waiting for the next group commit. */
interface QueuedWrite {
  run(now: number): unknown;
  /** True for enqueues: the commit must be fsynced before the caller may acknowledge a webhook. */
  durable: boolean;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

type Statements = { [K in keyof typeof SQL]: Database.Statement };

export class SqliteStore implements Store {
  private readonly stmt: Statements;
  private readonly clock: Clock;
  private queued: QueuedWrite[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly runBatch: (batch: QueuedWrite[], now: number) => unknown[];
  private readonly syncDurable: Database.Statement;
  private readonly syncBookkeeping: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    clock: Clock,
    enqueueSync: 'FULL' | 'NORMAL',
  ) {
    this.clock = clock;
    this.stmt = prepareAll(db);
    this.syncDurable = db.prepare(`PRAGMA synchronous = ${enqueueSync}`);
    this.syncBookkeeping = db.prepare('PRAGMA synchronous = NORMAL');
    this.syncBookkeeping.run();
    this.runBatch = immediate(db, (batch: QueuedWrite[], now: number) => batch.map((write) => write.run(now)));
  }

  /** A dedupe key seen before (or earlier in this call) is dropped; resolves once the batch is fsynced. */
  enqueue(jobs: NewJob[]): Promise<EnqueueResult> {
    let inserts: JobInsert[];
    try {
      inserts = jobs.map(toInsert);
    } catch (err) {
      return Promise.reject(err);
    }
    if (inserts.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0 });
    return this.write((now) => this.insertJobs(inserts, now), true);
  }

  async lease(opts: LeaseOptions): Promise<Job[]> {
    if (opts.limit <= 0) return [];
    const rows = await this.write(
      (now) => this.stmt.lease.all({ owner: opts.owner, until: now + opts.leaseMs, now, limit: opts.limit }) as JobRow[],
    );
    return rows.map(toJob).sort((a, b) => Number(a.id) - Number(b.id));
  }

  async complete(jobId: string, owner: string): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    return this.write((now) => this.settleHead(this.stmt.complete, { id, owner, now }));
  }

  async retry(jobId: string, owner: string, opts: RetryOptions): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    const counted = opts.countAttempt ? 1 : 0;
    return this.write((now) => this.stmt.retry.run({ id, owner, now, runAt: opts.runAt, error: opts.error, counted }).changes === 1);
  }

  async deadLetter(jobId: string, owner: string, error: string): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    return this.write((now) => this.settleHead(this.stmt.deadLetter, { id, owner, now, error }));
  }

  async recordCustomerMessage(conversationKey: string, at: number, threadId?: string): Promise<void> {
    await this.write(() => this.stmt.recordCustomerMessage.run({ key: conversationKey, at, threadId: threadId ?? null }));
  }

  async recordReplySent(conversationKey: string): Promise<void> {
    await this.write(() => this.stmt.recordReplySent.run(conversationKey));
  }

  async getConversation(conversationKey: string): Promise<ConversationState> {
    const row = this.stmt.getConversation.get(conversationKey) as
      | { last_inbound_at: number | null; customer_messages: number; replies_since_customer: number; thread_id: string | null }
      | undefined;
    if (!row) return {};
    return {
      ...(row.last_inbound_at != null ? { lastInboundAt: row.last_inbound_at } : {}),
      customerMessages: row.customer_messages,
      repliesSinceCustomer: row.replies_since_customer,
      ...(row.thread_id != null ? { threadId: row.thread_id } : {}),
    };
  }

  async acquireLock(name: string, owner: string, until: number): Promise<boolean> {
    return this.write((now) => this.stmt.acquireLock.run({ name, owner, until, now }).changes === 1);
  }

  async releaseLock(name: string, owner: string): Promise<void> {
    await this.write(() => this.stmt.releaseLock.run(name, owner));
  }

  async putRecord(namespace: string, key: string, value: unknown, expiresAt: number): Promise<void> {
    const json = JSON.stringify(value ?? null);
    await this.write(() => this.stmt.putRecord.run(namespace, key, json, expiresAt));
  }

  async getRecord<T>(namespace: string, key: string): Promise<T | undefined> {
    const row = this.stmt.getRecord.get(namespace, key, this.clock()) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  async pause(key: string, until: number): Promise<void> {
    this.stmt.pause.run(key, until);
  }

  async pausedUntil(key: string): Promise<number> {
    const row = this.stmt.pausedUntil.get(key, this.clock()) as { until: number } | undefined;
    return row?.until ?? 0;
  }

  /** Deletes in chunks, yielding to the event loop between them; expired pauses go too. */
  async purge(opts: { dedupeBefore: number; doneBefore: number }): Promise<{ dedupeKeys: number; jobs: number }> {
    const dedupeKeys = await this.deleteInChunks(this.stmt.purgeDedupe, opts.dedupeBefore);
    const jobs = await this.deleteInChunks(this.stmt.purgeDone, opts.doneBefore);
    await this.deleteInChunks(this.stmt.purgeRecords, this.clock());
    this.stmt.purgePauses.run(this.clock());
    return { dedupeKeys, jobs };
  }

  /** `done` counts finished jobs kept until `purge` removes them (the bridge keeps them one day). */
  async stats(): Promise<QueueStats> {
    const stats: QueueStats = { pending: 0, leased: 0, dead: 0, done: 0 };
    for (const row of this.stmt.countActive.all() as { state: 'pending' | 'leased'; n: number }[]) stats[row.state] = row.n;
    stats.done = (this.stmt.countDone.get() as { n: number }).n;
    stats.dead = (this.stmt.countDead.get() as { n: number }).n;
    return stats;
  }

  /** Oldest failures first. */
  async listDead(limit: number): Promise<DeadJob[]> {
    const rows = this.stmt.listDead.all(limit) as DeadJobRow[];
    return rows.map((row) => ({ ...toJob(row), lastError: row.last_error ?? '', failedAt: row.finished_at }));
  }

  async requeueDead(jobId: string): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    return this.stmt.requeueDead.run({ id, now: this.clock() }).changes === 1;
  }

  /** Writes whatever is still waiting for its group commit, then closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }

  /** Queues a write for the next group commit (see the file comment). */
  private write<T>(run: (now: number) => T, durable = false): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ run, durable, resolve: resolve as (result: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** If the transaction fails, every caller in it is rejected: nothing of the batch was stored. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    const durable = batch.some((write) => write.durable);
    let results: unknown[];
    if (durable) this.syncDurable.run();
    try {
      results = this.runBatch(batch, this.clock());
    } catch (err) {
      for (const write of batch) write.reject(err);
      return;
    } finally {
      if (durable) this.syncBookkeeping.run();
    }
    batch.forEach((write, i) => write.resolve(results[i]));
  }

  /** Settles a head job and promotes the next job of its conversation; false when the lease was lost. */
  private settleHead(stmt: Database.Statement, params: Record<string, unknown>): boolean {
    const row = stmt.get(params) as { conversation_key: string } | undefined;
    if (!row) return false;
    this.stmt.promoteNext.run(row.conversation_key);
    return true;
  }

  /** One caller's jobs, inside the group transaction. A dedupe key seen before (or earlier in this call) is dropped. */
  private insertJobs(jobs: JobInsert[], now: number): EnqueueResult {
    const result = { accepted: 0, duplicates: 0 };
    for (const job of jobs) {
      if (this.stmt.insertDedupe.run(job.dedupeKey, now).changes === 0) {
        result.duplicates++;
        continue;
      }
      this.stmt.insertJob.run({ ...job, now });
      result.accepted++;
    }
    return result;
  }

  private async deleteInChunks(stmt: Database.Statement, before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = stmt.run(before).changes;
      total += deleted;
      if (deleted < PURGE_CHUNK) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
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

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`database schema version ${version} is newer than this dmbridge supports (${MIGRATIONS.length}); upgrade dmbridge`);
  }
  immediate(db, () => {
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}

function prepareAll(db: Database.Database): Statements {
  return Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as Statements;
}

/** BEGIN IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read lock. */
function immediate<A extends unknown[], R>(db: Database.Database, fn: (...args: A) => R): (...args: A) => R {
  const tx = db.transaction(fn);
  return (...args: A) => tx.immediate(...args);
}

function toInsert(job: NewJob): JobInsert {
  return {
    dedupeKey: job.dedupeKey,
    conversationKey: job.conversationKey,
    kind: job.kind,
    payload: JSON.stringify(job.payload ?? null),
  };
}

function toJob(row: JobRow): Job {
  return {
    id: String(row.id),
    dedupeKey: row.dedupe_key,
    conversationKey: row.conversation_key,
    kind: row.kind,
    payload: JSON.parse(row.payload) as unknown,
    attempts: row.attempts,
    createdAt: row.created_at,
  };
}

/** Job ids are the decimal rowid; anything else names no job. */
function parseJobId(jobId: string): number | undefined {
  return /^[1-9]\d{0,15}$/.test(jobId) ? Number(jobId) : undefined;
}
