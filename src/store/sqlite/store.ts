/**
 * The default store engine: one SQLite file (better-sqlite3, WAL) shared by the HTTP intake and the workers
 * of one instance.
 *
 * Every write (accept, enqueue, lease, complete, retry, dead letter, records, pauses, requeues, each purge chunk)
 * goes through the group commit (../group-commit.ts). In WAL mode every commit appends each page it touched, so many small transactions cost
 * far more than one that carries them all; this is what lets one instance acknowledge thousands of webhooks per
 * second while its worker delivers.
 *
 * Durability: a batch holding an accept or enqueue commits with `synchronous = FULL`, which in WAL mode fsyncs
 * the commit, so a resolved `accept` (an acknowledged webhook) survives kill -9 and power loss. A batch of worker
 * bookkeeping only commits with `synchronous = NORMAL`: that survives a process crash, and because the WAL is
 * sequential the next FULL commit makes it durable too. On power loss the latest bookkeeping may be lost, so a
 * job delivered just before may run again with the same message id (at-least-once); nothing acknowledged is.
 * https://www.sqlite.org/pragma.html#pragma_synchronous , https://www.sqlite.org/wal.html
 *
 * Waiting for the lock: SQLite's own busy handler sleeps inside the statement, which under better-sqlite3 blocks
 * the event loop for as long as another process (a backup, `sqlite3`, a second dmbridge command) holds the write
 * lock. So the connection never waits (`busy_timeout = 0`): a group commit that finds the lock taken is tried
 * again after a short asynchronous wait, for up to `busyTimeoutMs`, while its callers wait and later writes queue
 * behind it in order. Reads never meet the lock: in WAL mode readers do not wait for the writer
 * (https://www.sqlite.org/wal.html).
 *
 * Corruption: a statement that finds the file damaged (./corruption.ts) breaks the store for good. One error line
 * is logged, and every later call is refused with the StoreCorruptError naming the file and what to do: webhooks
 * are answered 503 (the platforms deliver them again) instead of being acknowledged into a file that delivers
 * nothing, and the readiness probe, which writes, fails.
 *
 * Ordering: the `head` column marks the one job of each conversation that may run next (the lowest id among
 * its pending and leased jobs when it became head). It is maintained in the same transaction as every state
 * change, which turns "the head of each conversation that is due" into a range read on a small partial index
 * instead of a GROUP BY over the whole backlog on every lease call.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { Clock } from '../../core/clock.js';
import type { ConversationState } from '../../core/conversation.js';
import type { StoreCorruptError } from '../../core/errors.js';
import type { Logger } from '../../logger.js';
import type {
  BacklogStats,
  CustomerMessageFact,
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
import {
  backlogFromRow,
  byJobId,
  conversationFromRow,
  deadJobFromRow,
  jobFromRow,
  parseJobId,
  toJobInsert,
  type ConversationRow,
  type DeadJobRow,
  type JobInsert,
  type JobRow,
} from '../rows.js';
import { corruptWhileRunning, isCorruption, quickCheck } from './corruption.js';
import { immediate } from './schema.js';
import { PURGE_CHUNK, prepareAll, type Statements } from './statements.js';

/** One caller's write, waiting for the next group commit. */
interface Write {
  run(now: number): unknown;
  /** True for accepts and enqueues: the commit must be fsynced before the caller may acknowledge a webhook. */
  durable: boolean;
  /** Jobs it inserts: a commit takes writes until it carries MAX_COMMIT_JOBS. */
  jobs: number;
}

/**
 * A commit is synchronous, so its size is time the event loop is blocked: about 4 ms per 250 jobs and their facts here. The rest of
 * the queue waits for the next commit, one turn later (issue 12's 50 ms budget).
 */
const MAX_COMMIT_JOBS = 500;

/** The writes the next commit takes: at least one, then as many as stay within MAX_COMMIT_JOBS. */
function commitSize(count: number, writeAt: (i: number) => Write): number {
  let jobs = writeAt(0).jobs;
  let n = 1;
  while (n < count && jobs + writeAt(n).jobs <= MAX_COMMIT_JOBS) jobs += writeAt(n++).jobs;
  return n;
}

/** The longest asynchronous wait between two tries of a commit that found the write lock taken. */
const BUSY_RETRY_MAX_MS = 20;

export interface SqliteStoreSettings {
  /** The file, named in what the operator reads when it is damaged. */
  path: string;
  clock: Clock;
  enqueueSync: 'FULL' | 'NORMAL';
  /** How long a group commit keeps trying while another process holds the write lock. */
  busyTimeoutMs: number;
  logger: Logger;
}

export class SqliteStore implements Store {
  private readonly stmt: Statements;
  private readonly commits: GroupCommit<Write>;
  private readonly clock: Clock;
  private closed = false;
  /** Set by the first statement that found the file damaged; every later call is refused with it. */
  private broken: StoreCorruptError | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly settings: SqliteStoreSettings,
  ) {
    this.clock = settings.clock;
    db.pragma('busy_timeout = 0');
    this.stmt = prepareAll(db);
    const syncDurable = db.prepare(`PRAGMA synchronous = ${settings.enqueueSync}`);
    const syncBookkeeping = db.prepare('PRAGMA synchronous = NORMAL');
    syncBookkeeping.run();
    const runBatch = immediate(db, (batch: Write[], now: number) => batch.map((write) => write.run(now)));
    const commitOnce = (batch: Write[]) => {
      const durable = batch.some((write) => write.durable);
      if (durable) syncDurable.run();
      try {
        return runBatch(batch, this.clock());
      } finally {
        if (durable) syncBookkeeping.run();
      }
    };
    this.commits = new GroupCommit<Write>((batch) => this.waitingForLock(() => this.guard(() => commitOnce(batch))), commitSize);
  }

  /** The jobs, their dedupe keys and the customer-message facts in one fsynced transaction. */
  accept(batch: InboxBatch): Promise<EnqueueResult> {
    let inserts: JobInsert[];
    try {
      inserts = batch.jobs.map(toJobInsert);
    } catch (err) {
      return Promise.reject(err);
    }
    if (inserts.length === 0 && batch.customerMessages.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0 });
    return this.write((now) => {
      const result = this.insertJobs(inserts, now);
      for (const fact of batch.customerMessages) this.recordFact(fact);
      return result;
    }, true, inserts.length + batch.customerMessages.length);
  }

  /** A dedupe key seen before (or earlier in this call) is dropped; resolves once the batch is fsynced. */
  enqueue(jobs: NewJob[]): Promise<EnqueueResult> {
    return this.accept({ jobs, customerMessages: [] });
  }

  async lease(opts: LeaseOptions): Promise<Job[]> {
    if (opts.limit <= 0) return [];
    const rows = await this.write(
      (now) => this.stmt.lease.all({ owner: opts.owner, until: now + opts.leaseMs, now, limit: opts.limit }) as JobRow[],
    );
    return rows.map(jobFromRow).sort(byJobId);
  }

  async complete(jobId: string, owner: string): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    return this.write((now) => this.settleHead(this.stmt.complete, { id: Number(id), owner, now }));
  }

  async retry(jobId: string, owner: string, opts: RetryOptions): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    const counted = opts.countAttempt ? 1 : 0;
    return this.write(
      (now) => this.stmt.retry.run({ id: Number(id), owner, now, runAt: opts.runAt, error: opts.error, counted }).changes === 1,
    );
  }

  async deadLetter(jobId: string, owner: string, error: string): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    return this.write((now) => this.settleHead(this.stmt.deadLetter, { id: Number(id), owner, now, error }));
  }

  async recordCustomerMessage(conversationKey: string, at: number, threadId?: string): Promise<void> {
    await this.write(() => this.recordFact({ conversationKey, at, ...(threadId !== undefined ? { threadId } : {}) }));
  }

  async recordReplySent(conversationKey: string): Promise<void> {
    await this.write(() => this.stmt.recordReplySent.run(conversationKey));
  }

  async getConversation(conversationKey: string): Promise<ConversationState> {
    return this.guard(() => conversationFromRow(this.stmt.getConversation.get(conversationKey) as ConversationRow | undefined));
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
    const row = this.guard(() => this.stmt.getRecord.get(namespace, key, this.clock()) as { value: string } | undefined);
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  async pause(key: string, until: number): Promise<void> {
    await this.write(() => this.stmt.pause.run(key, until));
  }

  async pausedUntil(key: string): Promise<number> {
    const row = this.guard(() => this.stmt.pausedUntil.get(key, this.clock()) as { until: number } | undefined);
    return row?.until ?? 0;
  }

  /** Deletes in chunks, yielding to the event loop between them; expired pauses go too. */
  async purge(opts: { dedupeBefore: number; doneBefore: number }): Promise<{ dedupeKeys: number; jobs: number }> {
    const dedupeKeys = await this.deleteInChunks(this.stmt.purgeDedupe, opts.dedupeBefore);
    const jobs = await this.deleteInChunks(this.stmt.purgeDone, opts.doneBefore);
    await this.deleteInChunks(this.stmt.purgeRecords, this.clock());
    await this.write((now) => this.stmt.purgePauses.run(now));
    return { dedupeKeys, jobs };
  }

  /** `done` counts finished jobs kept until `purge` removes them (the bridge keeps them one day). */
  async stats(): Promise<QueueStats> {
    return this.guard(() => {
      const stats: QueueStats = { pending: 0, leased: 0, dead: 0, done: 0 };
      for (const row of this.stmt.countActive.all() as { state: 'pending' | 'leased'; n: number }[]) stats[row.state] = row.n;
      stats.done = (this.stmt.countDone.get() as { n: number }).n;
      stats.dead = (this.stmt.countDead.get() as { n: number }).n;
      return stats;
    });
  }

  /** Oldest failures first. */
  async listDead(limit: number): Promise<DeadJob[]> {
    return this.guard(() => (this.stmt.listDead.all(limit) as DeadJobRow[]).map(deadJobFromRow));
  }

  async requeueDead(jobId: string): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    return this.write((now) => this.stmt.requeueDead.run({ id: Number(id), now }).changes === 1);
  }

  async requeueAllDead(): Promise<number> {
    let requeued = 0;
    const dead = this.guard(() => this.stmt.deadIds.all() as Array<{ id: number }>);
    for (const { id } of dead) if (await this.requeueDead(String(id))) requeued++;
    return requeued;
  }

  async getDead(jobId: string): Promise<DeadJob | undefined> {
    const id = parseJobId(jobId);
    const row = id === undefined ? undefined : this.guard(() => this.stmt.getDead.get(Number(id)) as DeadJobRow | undefined);
    return row ? deadJobFromRow(row) : undefined;
  }

  async dropDead(jobId: string): Promise<boolean> {
    const id = parseJobId(jobId);
    if (id === undefined) return false;
    return this.write(() => this.stmt.dropDead.run(Number(id)).changes === 1);
  }

  async backlog(): Promise<BacklogStats> {
    type Row = { pending: number; oldest_pending: number | null; oldest_due: number | null; dead: number; paused: number };
    return backlogFromRow(this.guard(() => this.stmt.backlog.get({ now: this.clock() }) as Row));
  }

  /** SQLite's own check of the file's structure (`PRAGMA quick_check`); reports even on a store already broken. */
  async checkIntegrity(): Promise<string[]> {
    return quickCheck(this.db);
  }

  /** Writes whatever is still waiting for its group commit, then closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.commits.close();
    this.db.close();
  }

  private write<T>(run: (now: number) => T, durable = false, jobs = 0): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    return this.commits.submit<T>({ run, durable, jobs });
  }

  /**
   * Runs `attempt` (a whole transaction) until it no longer finds another process's write lock, waiting a little
   * longer each time, up to busyTimeoutMs of real time; then its SQLITE_BUSY is the callers' answer. A failed try
   * changed nothing (BEGIN IMMEDIATE did not get the lock), so trying again neither loses nor repeats a write.
   */
  private async waitingForLock<T>(attempt: () => T): Promise<T> {
    const giveUpAt = performance.now() + this.settings.busyTimeoutMs;
    for (let wait = 1; ; wait = Math.min(BUSY_RETRY_MAX_MS, wait * 2)) {
      try {
        return attempt();
      } catch (err) {
        if (!isBusy(err) || performance.now() + wait > giveUpAt) throw err;
      }
      await sleep(wait);
    }
  }

  /** Runs statements; a damaged file breaks the store (one log line) and this call and every later one is refused. */
  private guard<T>(run: () => T): T {
    if (this.broken) throw this.broken;
    try {
      return run();
    } catch (err) {
      if (!isCorruption(err)) throw err;
      if (!this.broken) {
        this.broken = corruptWhileRunning(this.settings.path, (err as Error).message, err);
        this.settings.logger.error(
          { err: this.broken, file: this.settings.path },
          'SQLite store corrupt: webhooks are refused (503) and nothing is delivered until the file is restored or replaced',
        );
      }
      throw this.broken;
    }
  }

  private recordFact(fact: CustomerMessageFact): void {
    this.stmt.recordCustomerMessage.run({ key: fact.conversationKey, at: fact.at, threadId: fact.threadId ?? null });
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

  /** Each chunk is one write of its own group commit, so accepts go on between chunks. */
  private async deleteInChunks(stmt: Database.Statement, before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.write(() => stmt.run(before).changes);
      total += deleted;
      if (deleted < PURGE_CHUNK) return total;
    }
  }
}

/** SQLITE_BUSY and its extended codes: another connection holds the lock (https://www.sqlite.org/rescode.html#busy). */
function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
