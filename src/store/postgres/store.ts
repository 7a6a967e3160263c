/**
 * The scale-out store engine: PostgreSQL (node-postgres pool). Several dmbridge instances share one database;
 * every guarantee of the store roles (src/core/store.ts) holds across them.
 *
 * GROUP COMMIT (../group-commit.ts): accepts, leases, settles (complete / retry / dead letter), conversation
 * counters and records are written in ONE transaction per batch, with one set-based statement per kind, sent as
 * one pipeline (./batch.ts).
 *
 * Durability: a batch holding an accept commits with the server's `synchronous_commit` (on by default: the
 * WAL is flushed before a webhook is acknowledged). A batch of worker bookkeeping only commits with
 * `synchronous_commit = off`: it survives a dmbridge crash, and a PostgreSQL crash may lose its last fraction
 * of a second, so a job delivered just before may run again (at-least-once, like the SQLite engine's NORMAL).
 *
 * Time: every "now" comes from the injected clock, never from the database, so instances must keep their
 * clocks in sync (NTP) as leases and pauses compare times written by different instances.
 *
 * ORDERING ACROSS INSTANCES. As in the SQLite engine, the `head` column marks the one job of each conversation that
 * may run next; leasing only takes heads (or expired leases, which are heads) with `FOR UPDATE SKIP LOCKED`,
 * so concurrent lease calls never wait for each other nor take the same job twice. What needs more care is
 * keeping exactly one head per conversation while instances enqueue and settle concurrently: under READ
 * COMMITTED, an enqueue that sees the head still active (so its job is not head) and a complete that sees no
 * later job (so it promotes nothing) can both commit, leaving a conversation stuck forever; two enqueues that
 * both see an empty conversation would make two heads. So every transaction that changes which jobs of a
 * conversation are active (accept, complete, dead letter, requeue) first locks that conversation's row in
 * `lanes` (`INSERT … ON CONFLICT DO UPDATE … WHERE false`: inserts the row or locks it without writing a new
 * version), all lanes of a batch in one statement in one global order (no deadlocks), and only then, in later
 * statements with fresh snapshots, decides heads. Row locks, unlike advisory locks, do not use the shared
 * lock table, so a batch may lock thousands of conversations. Leasing never takes a lane lock: it only moves
 * a head between pending and leased, which does not change who the head is. A partial unique index allows at
 * most one head per conversation, so a bug here fails loudly instead of running two jobs of one conversation.
 * Lock order everywhere: lanes (sorted), then dedupe keys (sorted), then jobs; leases skip locked rows.
 */
import type pg from 'pg';
import type { Clock } from '../../core/clock.js';
import type { ConversationState } from '../../core/conversation.js';
import type {
  BacklogStats,
  DeadJob,
  EnqueueResult,
  InboxBatch,
  Job,
  LeaseOptions,
  NewJob,
  QueueStats,
  RetryOptions,
  Store,
} from '../../core/store.js';
import { GroupCommit } from '../group-commit.js';
import { backlogFromRow, conversationFromRow, deadJobFromRow, parseJobId, toJobInsert, type BacklogRow, type ConversationRow, type DeadJobRow } from '../rows.js';
import { batchSize, sendBatch, type SettleAction, type Write } from './batch.js';
import { inTransaction, pipelinedTransaction } from './pool.js';
import { PURGE_CHUNK, buildSql, type Sql } from './sql.js';
import { checkText, freeText, ms, storable } from './text.js';

export class PostgresStore implements Store {
  private readonly sql: Sql;
  private readonly commits: GroupCommit<Write>;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    readonly schema: string,
  ) {
    this.sql = buildSql(schema);
    this.commits = new GroupCommit<Write>((batch) => {
      const durable = batch.some((write) => write.kind === 'accept');
      return pipelinedTransaction(pool, durable ? 'BEGIN' : 'BEGIN; SET LOCAL synchronous_commit = off', (send) =>
        sendBatch(send, (name, values) => this.named(name, values), batch, ms(this.clock())),
      );
    }, batchSize);
  }

  /** The jobs, their dedupe keys and the customer-message facts in one committed transaction. */
  accept(batch: InboxBatch): Promise<EnqueueResult> {
    let write: Write;
    try {
      const jobs = batch.jobs.map((job) => {
        checkText(job.dedupeKey, job.conversationKey, job.kind);
        return toJobInsert(job);
      });
      const facts = batch.customerMessages.map((fact) => {
        checkText(fact.conversationKey, fact.threadId ?? '');
        return { key: fact.conversationKey, op: 'message' as const, at: ms(fact.at), threadId: fact.threadId ?? null };
      });
      write = { kind: 'accept', jobs, facts };
    } catch (err) {
      return Promise.reject(err);
    }
    if (batch.jobs.length === 0 && batch.customerMessages.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0 });
    return this.commits.submit(write);
  }

  /** A dedupe key seen before (or earlier in this call or batch) is dropped; resolves once the batch is committed. */
  enqueue(jobs: NewJob[]): Promise<EnqueueResult> {
    return this.accept({ jobs, customerMessages: [] });
  }

  async lease(opts: LeaseOptions): Promise<Job[]> {
    if (opts.limit <= 0) return [];
    checkText(opts.owner);
    return this.commits.submit({ kind: 'lease', owner: opts.owner, limit: Math.floor(opts.limit), leaseMs: Math.floor(opts.leaseMs) });
  }

  async complete(jobId: string, owner: string): Promise<boolean> {
    return this.settle(jobId, owner, 'complete', null, 0, 0);
  }

  async retry(jobId: string, owner: string, opts: RetryOptions): Promise<boolean> {
    return this.settle(jobId, owner, 'retry', freeText(opts.error), ms(opts.runAt), opts.countAttempt ? 1 : 0);
  }

  async deadLetter(jobId: string, owner: string, error: string): Promise<boolean> {
    return this.settle(jobId, owner, 'dead', freeText(error), 0, 0);
  }

  async recordCustomerMessage(conversationKey: string, at: number, threadId?: string): Promise<void> {
    checkText(conversationKey, threadId ?? '');
    await this.commits.submit({ kind: 'conversation', key: conversationKey, op: 'message', at: ms(at), threadId: threadId ?? null });
  }

  async recordReplySent(conversationKey: string): Promise<void> {
    checkText(conversationKey);
    await this.commits.submit({ kind: 'conversation', key: conversationKey, op: 'reply', at: null, threadId: null });
  }

  async getConversation(conversationKey: string): Promise<ConversationState> {
    if (!storable(conversationKey)) return {};
    const { rows } = await this.query<ConversationRow>('getConversation', [conversationKey]);
    return conversationFromRow(rows[0]);
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
    await this.commits.submit({ kind: 'record', namespace, key, value: json, expiresAt: ms(expiresAt) });
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
    return rows.map(deadJobFromRow);
  }

  async requeueDead(jobId: string): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    if (this.closed) throw new Error('store is closed');
    return inTransaction(this.pool, async (client) => {
      const found = await client.query<{ conversation_key: string }>(this.named('deadConversation', [id]));
      const conversationKey = found.rows[0]?.conversation_key;
      if (conversationKey === undefined) return false;
      await client.query(this.named('lockLanes', [[conversationKey], []]));
      return (await client.query(this.named('requeueDead', [id, ms(this.clock())]))).rowCount === 1;
    });
  }

  async requeueAllDead(): Promise<number> {
    const { rows } = await this.query<{ id: string }>('deadIds', []);
    let requeued = 0;
    for (const { id } of rows) if (await this.requeueDead(id)) requeued++;
    return requeued;
  }

  async getDead(jobId: string): Promise<DeadJob | undefined> {
    const id = parseJobId(jobId);
    if (id === undefined) return undefined;
    const { rows } = await this.query<DeadJobRow>('getDead', [id]);
    return rows[0] ? deadJobFromRow(rows[0]) : undefined;
  }

  async dropDead(jobId: string): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    return (await this.query('dropDead', [id])).rowCount === 1;
  }

  async backlog(): Promise<BacklogStats> {
    const { rows } = await this.query<BacklogRow>('backlog', [ms(this.clock())]);
    return backlogFromRow(rows[0]!);
  }

  /** The schema's tables are all there (a read of the catalog only). */
  async checkIntegrity(): Promise<string[]> {
    const { rows } = await this.query<{ missing: string }>('tablesPresent', []);
    return rows.map((r) => `table ${this.schema}.${r.missing} is missing`);
  }

  /** Writes whatever is still waiting for its group commit, then closes the pool. Idempotent. */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.commits.close().then(() => this.pool.end());
    return this.closing;
  }

  private settle(jobId: string, owner: string, action: SettleAction, error: string | null, runAt: number, counted: number): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined || !storable(owner)) return Promise.resolve(false);
    return this.commits.submit({ kind: 'settle', id, owner, action, error, runAt, counted });
  }

  private named(name: keyof Sql, values: unknown[]): pg.QueryConfig {
    return { name: `dmbridge_${name}`, text: this.sql[name], values };
  }

  /** One statement on its own connection (autocommit); pg-pool discards a connection that failed. */
  private query<R extends pg.QueryResultRow = pg.QueryResultRow>(name: keyof Sql, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return this.pool.query<R>(this.named(name, values));
  }

  private async deleteInChunks(name: 'purgeDedupe' | 'purgeDone' | 'purgeRecords' | 'purgeLanes', values: unknown[]): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = (await this.query(name, values)).rowCount ?? 0;
      total += deleted;
      if (deleted < PURGE_CHUNK) return total;
    }
  }
}
